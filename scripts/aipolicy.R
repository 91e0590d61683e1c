# Load the AI Policy Atlas into R: a named list of data frames typed from the schemas.
#
#   source("scripts/aipolicy.R")
#   atlas <- read_aipolicy(".")        # a package folder (the one holding datapackage.json)
#   atlas <- read_aipolicy("1.0.0")    # a released version: downloaded, sha256-checked, cached
#   atlas$entries
#
# Types follow each field's Table Schema: date -> Date, integer -> integer, number -> double,
# boolean -> logical, string -> character, and string fields with an `enum` -> factor whose
# levels are the allowed values in schema order. Needs only readr and jsonlite.

.aipolicy_script_dir <- local({
  frame_files <- Filter(Negate(is.null), lapply(sys.frames(), function(f) f$ofile))
  if (length(frame_files)) dirname(normalizePath(frame_files[[length(frame_files)]])) else getwd()
})

.aipolicy_col <- function(field) {
  switch(field$type %||% "string",
    date = readr::col_date(format = "%Y-%m-%d"),
    integer = readr::col_integer(),
    number = readr::col_double(),
    boolean = readr::col_logical(),
    readr::col_character()
  )
}

`%||%` <- function(a, b) if (is.null(a)) b else a

.aipolicy_read_table <- function(root, resource) {
  schema <- if (is.character(resource$schema)) {
    jsonlite::fromJSON(file.path(root, resource$schema), simplifyVector = FALSE)
  } else {
    resource$schema
  }
  fields <- schema$fields
  names <- vapply(fields, function(f) f$name, character(1))
  spec <- do.call(readr::cols, setNames(lapply(fields, .aipolicy_col), names))
  data <- readr::read_csv(file.path(root, resource$path), col_types = spec, na = "",
                          locale = readr::locale(encoding = "UTF-8"), progress = FALSE,
                          show_col_types = FALSE)
  problems <- readr::problems(data)
  if (nrow(problems) > 0) {
    p <- problems[1, ]
    stop(sprintf("%s:%d:%d: %s (expected %s); run `aipolicy validate` for every problem",
                 resource$path, p$row + 1L, p$col, p$actual, p$expected), call. = FALSE)
  }
  for (f in fields) {
    enum <- f$constraints$enum
    if (!is.null(enum) && (f$type %||% "string") == "string") {
      data[[f$name]] <- factor(data[[f$name]], levels = unlist(enum))
    }
  }
  attr(data, "spec") <- NULL
  attr(data, "problems") <- NULL
  as.data.frame(data, stringsAsFactors = FALSE)
}

.aipolicy_sha256 <- function(path) {
  tool <- Sys.which(c("sha256sum", "shasum"))
  tool <- tool[nzchar(tool)][1]
  if (is.na(tool)) stop("neither sha256sum nor shasum is available to verify the download", call. = FALSE)
  args <- if (basename(tool) == "shasum") c("-a", "256", shQuote(path)) else shQuote(path)
  strsplit(system2(tool, args, stdout = TRUE), " ")[[1]][1]
}

.aipolicy_release <- function(version, registry, cache) {
  known <- jsonlite::fromJSON(registry, simplifyVector = FALSE)
  release <- known[[version]]
  if (is.null(release)) {
    stop(sprintf("version %s is not a released version of the atlas (released: %s)",
                 version, paste(names(known), collapse = ", ")), call. = FALSE)
  }
  dir.create(cache, recursive = TRUE, showWarnings = FALSE)
  target <- file.path(cache, sub("\\.zip$", "", release$zip))  # the folder the zip unpacks to, named as the zip
  if (file.exists(file.path(target, "datapackage.json"))) return(target)
  zip_path <- file.path(cache, release$zip)
  if (!file.exists(zip_path) || .aipolicy_sha256(zip_path) != release$sha256) {
    ok <- tryCatch(utils::download.file(release$url, zip_path, mode = "wb", quiet = TRUE) == 0,
                   error = function(e) FALSE, warning = function(w) FALSE)
    if (!ok) stop(sprintf("download of version %s from %s failed; without network, rebuild it from a clone of the repository with `aipolicy rebuild %s`, which puts it in this cache", version, release$url, version), call. = FALSE)
  }
  digest <- .aipolicy_sha256(zip_path)
  if (!identical(digest, release$sha256)) {
    unlink(zip_path)
    stop(sprintf("download of version %s failed its sha256 check (got %s, expected %s); nothing was loaded",
                 version, digest, release$sha256), call. = FALSE)
  }
  tmp <- paste0(target, ".partial")
  unlink(tmp, recursive = TRUE)
  utils::unzip(zip_path, exdir = tmp)
  inner <- list.dirs(tmp, recursive = FALSE)[1]
  unlink(target, recursive = TRUE)
  file.rename(inner, target)
  unlink(tmp, recursive = TRUE)
  target
}

read_aipolicy <- function(path_or_version = ".",
                          registry = file.path(dirname(.aipolicy_script_dir), "releases.json"),
                          cache = file.path(tools::R_user_dir("aipolicy", "cache"))) {
  root <- path_or_version
  if (grepl("^[0-9]+\\.[0-9]+\\.[0-9]+$", path_or_version) && !dir.exists(path_or_version)) {
    root <- .aipolicy_release(path_or_version, registry, cache)
  }
  descriptor_path <- file.path(root, "datapackage.json")
  if (!file.exists(descriptor_path)) stop(sprintf("no datapackage.json in %s", root), call. = FALSE)
  descriptor <- jsonlite::fromJSON(descriptor_path, simplifyVector = FALSE)
  tables <- lapply(descriptor$resources, function(r) .aipolicy_read_table(root, r))
  names(tables) <- vapply(descriptor$resources, function(r) r$name, character(1))
  tables
}
