// The explorer page: every entry in one table, filtered in the browser. No library, no
// request to another host: the rows come from api/explorer.json, shipped with the site.
(function () {
  "use strict";
  var root = document.getElementById("atlas-explorer");
  if (!root) return;
  var form = root.querySelector("form");
  var count = root.querySelector(".explorer-count");
  var body = root.querySelector("tbody");
  var LIMIT = 500;  // rows drawn at once; the count always covers every match

  function fill(select, values, labels) {
    values.forEach(function (v) {
      var o = document.createElement("option");
      o.value = v; o.textContent = labels && labels[v] ? labels[v] + " (" + v + ")" : v.replace(/-/g, " ");
      select.appendChild(o);
    });
  }

  fetch(root.getAttribute("data-source")).then(function (r) { return r.json(); }).then(function (data) {
    var c = {}; data.columns.forEach(function (name, i) { c[name] = i; });
    var rows = data.rows.map(function (r) {
      return { row: r, year: parseInt(r[c.date].slice(0, 4), 10),
               text: [r[c.title], r[c.title_local], r[c.other_names], r[c.summary]].join(" \u0001 ").toLowerCase() };
    });
    function distinct(i) { var s = {}; data.rows.forEach(function (r) { s[r[i]] = 1; }); return Object.keys(s).sort(); }
    var topics = {}; data.rows.forEach(function (r) { r[c.topics].forEach(function (t) { topics[t] = 1; }); });
    fill(form.region, distinct(c.region));
    fill(form.jurisdiction, distinct(c.jurisdiction_id), data.jurisdictions);
    fill(form.kind, distinct(c.kind));
    fill(form.status, distinct(c.status));
    fill(form.topic, Object.keys(topics).sort());

    var params = new URLSearchParams(window.location.search);
    ["q", "region", "jurisdiction", "kind", "status", "topic", "from", "to"].forEach(function (k) {
      if (params.has(k)) form[k].value = params.get(k);
    });

    function render() {
      var f = { q: form.q.value.trim().toLowerCase(), region: form.region.value, jurisdiction: form.jurisdiction.value, kind: form.kind.value,
                status: form.status.value, topic: form.topic.value, from: parseInt(form.from.value, 10), to: parseInt(form.to.value, 10) };
      var words = f.q ? f.q.split(/\s+/) : [];
      var hits = rows.filter(function (x) {
        var r = x.row;
        if (f.region && r[c.region] !== f.region) return false;
        if (f.jurisdiction && r[c.jurisdiction_id] !== f.jurisdiction) return false;
        if (f.kind && r[c.kind] !== f.kind) return false;
        if (f.status && r[c.status] !== f.status) return false;
        if (f.topic && r[c.topics].indexOf(f.topic) < 0) return false;
        if (!isNaN(f.from) && x.year < f.from) return false;
        if (!isNaN(f.to) && x.year > f.to) return false;
        for (var i = 0; i < words.length; i++) if (x.text.indexOf(words[i]) < 0) return false;
        return true;
      });
      hits.sort(function (a, b) { return a.row[c.date] < b.row[c.date] ? 1 : a.row[c.date] > b.row[c.date] ? -1 : 0; });
      count.textContent = hits.length + " of " + rows.length + " entries" + (hits.length > LIMIT ? " (the first " + LIMIT + " shown)" : "");
      count.setAttribute("data-count", String(hits.length));
      var html = document.createDocumentFragment();
      hits.slice(0, LIMIT).forEach(function (x) {
        var r = x.row, tr = document.createElement("tr");
        [r[c.date], null, r[c.kind].replace(/-/g, " "), data.jurisdictions[r[c.jurisdiction_id]] || r[c.jurisdiction_id], r[c.status]].forEach(function (v, i) {
          var td = document.createElement("td");
          if (i === 1) {
            var a = document.createElement("a");
            a.href = "../entries/" + r[c.entry_id] + "/"; a.textContent = r[c.title];
            td.appendChild(a);
          } else { td.textContent = v; }
          tr.appendChild(td);
        });
        html.appendChild(tr);
      });
      body.replaceChildren(html);
      var query = new URLSearchParams();
      ["q", "region", "jurisdiction", "kind", "status", "topic", "from", "to"].forEach(function (k) { if (form[k].value) query.set(k, form[k].value); });
      var address = window.location.pathname + (query.toString() ? "?" + query.toString() : "");
      window.history.replaceState(null, "", address);
    }
    form.addEventListener("input", render);
    render();
  });
})();

// The world map's switch by kind: show the map of the chosen kind.
(function () {
  "use strict";
  var select = document.querySelector(".map-switch");
  if (!select) return;
  select.addEventListener("change", function () {
    var drawing = document.querySelector("object.world-map");
    var doc = drawing && drawing.contentDocument;
    if (!doc) return;
    doc.querySelectorAll(".map-layer").forEach(function (layer) {
      if (layer.getAttribute("data-kind") === select.value) layer.removeAttribute("display");
      else layer.setAttribute("display", "none");
    });
  });
  select.addEventListener("change", function () {
    document.querySelectorAll(".map-summary").forEach(function (p) { p.hidden = p.getAttribute("data-kind") !== select.value; });
  });
})();
