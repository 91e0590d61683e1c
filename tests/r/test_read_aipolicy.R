# testthat tests of the R loader; run by tests/test_load_r.py, which builds a fixture
# package, serves its release zip from 127.0.0.1 and passes the paths in the environment.
library(testthat)
source(Sys.getenv("AIPOLICY_R"))

pkg <- Sys.getenv("AIPOLICY_PKG")
registry <- Sys.getenv("AIPOLICY_REGISTRY")
version <- Sys.getenv("AIPOLICY_VERSION")

test_that("every table is read with the types of its schema", {
  atlas <- read_aipolicy(pkg)
  expect_setequal(names(atlas), sub("\\.csv$", "", list.files(file.path(pkg, "data"))))
  expect_s3_class(atlas$entries$date, "Date")
  expect_type(atlas$figures$value, "double")
  expect_type(atlas$entries$title, "character")
  expect_s3_class(atlas$entries$kind, "factor")
  schema <- jsonlite::fromJSON(file.path(pkg, "schemas", "entries.schema.json"), simplifyVector = FALSE)
  kind <- Filter(function(f) f$name == "kind", schema$fields)[[1]]
  expect_equal(levels(atlas$entries$kind), unlist(kind$constraints$enum))
  expect_equal(nrow(atlas$entries), length(readLines(file.path(pkg, "data", "entries.csv"))) - 1)
})

test_that("a released version is downloaded, verified and cached", {
  cache <- tempfile("cache")
  atlas <- read_aipolicy(version, registry = registry, cache = cache)
  expect_equal(nrow(atlas$entries), nrow(read_aipolicy(pkg)$entries))
  expect_true(file.exists(file.path(cache, paste0("ai-policy-atlas-", version), "datapackage.json")))
})

test_that("an unknown version is a clear error", {
  expect_error(read_aipolicy("9.9.9", registry = registry, cache = tempfile()), "not a released version")
})

test_that("a download whose sha256 does not match is refused", {
  bad <- tempfile(fileext = ".json")
  known <- jsonlite::fromJSON(registry, simplifyVector = FALSE)
  known[[version]]$sha256 <- strrep("0", 64)
  writeLines(jsonlite::toJSON(known, auto_unbox = TRUE), bad)
  expect_error(read_aipolicy(version, registry = bad, cache = tempfile()), "sha256")
})
