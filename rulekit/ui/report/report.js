// rulekit report: the outputs table (filter, sort, click a row for its provenance).
// Data comes from the JSON block #report-data; text goes in with textContent only.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  // See page.py (outputs) and provenance.py (rows and the tables they index).
  const COLS = ["path", "status", "rule", "wildcards", "size", "made", "reasons"];
  const MAX_SHOWN = 1000;
  const prov = data.provenance;
  const rows = data.outputs.map(function (r, i) {
    const o = {index: i, key: r[7]};
    COLS.forEach(function (c, j) { o[c] = r[j]; });
    o.job = o.rule ? (o.wildcards ? o.rule + "[" + o.wildcards + "]" : o.rule) : "";
    o.madeText = when(o.made);
    o.text = [o.path, o.status, o.rule || "", o.job, o.wildcards, o.reasons]
      .join("\u0000").toLowerCase();
    return o;
  });
  const table = document.getElementById("outputs");
  const tbody = table.querySelector("tbody");
  const filter = document.getElementById("filter");
  const statusSel = document.getElementById("status-filter");
  const ruleSel = document.getElementById("rule-filter");
  const count = document.getElementById("shown-count");
  const details = document.getElementById("details");
  let sortCol = null;
  let sortDir = 1;
  let selected = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // Seconds since the epoch as local time, as the header's times are.
  function when(t) {
    if (t === null || t === undefined) return "";
    const d = new Date(t * 1000);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function sizeText(n) {
    if (n === null || n === undefined) return "";
    if (n < 1024) return n + " B";
    if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1048576).toFixed(1) + " MiB";
  }

  function options(select, values) {
    Array.from(new Set(values)).sort().forEach(function (v) {
      if (v) select.appendChild(el("option", v));
    });
  }
  options(statusSel, rows.map(function (r) { return r.status; }));
  options(ruleSel, rows.map(function (r) { return r.rule; }));

  function matching() {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const status = statusSel.value;
    const rule = ruleSel.value;
    const out = rows.filter(function (r) {
      if (status && r.status !== status) return false;
      if (rule && r.rule !== rule) return false;
      return words.every(function (w) { return r.text.indexOf(w) >= 0; });
    });
    if (sortCol !== null) {
      out.sort(function (a, b) {
        let x = a[sortCol], y = b[sortCol];
        if (x === null || x === undefined) x = sortCol === "size" ? -1 : "";
        if (y === null || y === undefined) y = sortCol === "size" ? -1 : "";
        return (x < y ? -1 : x > y ? 1 : a.index - b.index) * sortDir;
      });
    }
    return out;
  }

  function render() {
    const shown = matching();
    const frag = document.createDocumentFragment();
    shown.slice(0, MAX_SHOWN).forEach(function (r) {
      const tr = document.createElement("tr");
      tr.tabIndex = 0;
      tr.dataset.index = r.index;
      tr.appendChild(el("td", r.path, "path"));
      const st = el("td", r.status, "status");
      st.dataset.status = r.status;
      tr.appendChild(st);
      tr.appendChild(el("td", r.rule));
      tr.appendChild(el("td", r.job));
      tr.appendChild(el("td", r.wildcards));
      tr.appendChild(el("td", sizeText(r.size), "num"));
      tr.appendChild(el("td", r.madeText));
      tr.appendChild(el("td", r.reasons, "reasons"));
      if (selected === r.index) tr.classList.add("selected");
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    let text = shown.length + " of " + rows.length + " outputs";
    if (shown.length > MAX_SHOWN) text += " (first " + MAX_SHOWN + " listed: narrow the filter)";
    count.textContent = text;
  }

  function section(title, body) {
    const s = el("section");
    s.appendChild(el("h4", title));
    s.appendChild(body);
    return s;
  }

  function keyValues(pairs) {
    const dl = el("dl");
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "") return;
      dl.appendChild(el("dt", p[0]));
      dl.appendChild(el("dd", p[1]));
    });
    return dl;
  }

  function smallTable(head, body) {
    const t = el("table", null, "small");
    const tr = el("tr");
    head.forEach(function (h) { tr.appendChild(el("th", h)); });
    t.appendChild(el("thead")).appendChild(tr);
    const tb = el("tbody");
    body.forEach(function (row) {
      const r = el("tr");
      row.forEach(function (c) { r.appendChild(el("td", c)); });
      tb.appendChild(r);
    });
    t.appendChild(tb);
    return t;
  }

  function show(r) {
    selected = r.index;
    tbody.querySelectorAll("tr.selected").forEach(function (t) { t.classList.remove("selected"); });
    const row = tbody.querySelector('tr[data-index="' + r.index + '"]');
    if (row) row.classList.add("selected");
    const p = r.key === null || r.key === undefined ? null : prov.rows[r.key];
    details.replaceChildren();
    details.appendChild(el("h3", r.path));
    details.appendChild(keyValues([["status", r.status], ["rule", r.rule], ["job", r.job],
      ["wildcards", r.wildcards], ["size", sizeText(r.size)], ["made", r.madeText],
      ["would rerun because", r.reasons]]));
    if (!p) {
      details.appendChild(el("p", "No record: rulekit has not made this file (or its record " +
        "was removed).", "note"));
    } else {
      const env = prov.envs[p[2]];
      const code = prov.codes[p[5]];
      details.appendChild(section("how it was made", keyValues([
        ["started", when(p[0])], ["ended", when(p[1])],
        ["duration", Math.max(p[1] - p[0], 0).toFixed(3) + " s"],
        ["host", env[0]], ["user", env[1]], ["exit status", p[3]], ["run", env[2]],
        ["rulekit", env[3]], ["Python", env[4]], ["code hash", code[1]]])));
      details.appendChild(section("params", el("pre", prov.params[p[4]])));
      if (p[6].length) {
        const body = p[6].map(function (i) {
          return [i[0], sizeText(i[1]), when(i[2]), i[3] || "", i[4] ? "changed since" : ""];
        });
        const box = el("div");
        box.appendChild(smallTable(["input", "size", "modified", "checksum", ""], body));
        if (p[7]) box.appendChild(el("p", "and " + p[7] + " more", "note"));
        details.appendChild(section("inputs", box));
      }
      if (code[0]) {
        details.appendChild(section("code (" + code[0] + ")", el("pre", code[2] === null ?
          "(the rule's code changed since this file was made)" : code[2])));
      }
      p[8].forEach(function (log) {
        details.appendChild(section("log " + log[0], el("pre", log[1] === null ?
          "(not embedded: the page's budget for logs is spent; open the file)" : log[1])));
      });
      if (p[9]) {
        details.appendChild(section("benchmark " + p[9][0], smallTable(p[9][1], p[9].slice(2))));
      }
    }
    details.hidden = false;
  }

  tbody.addEventListener("click", function (ev) {
    const tr = ev.target.closest("tr");
    if (tr) show(rows[Number(tr.dataset.index)]);
  });
  tbody.addEventListener("keydown", function (ev) {
    const tr = ev.target.closest("tr");
    if (tr && (ev.key === "Enter" || ev.key === " ")) {
      ev.preventDefault();
      show(rows[Number(tr.dataset.index)]);
    }
  });
  table.querySelectorAll("th[data-col]").forEach(function (th) {
    th.tabIndex = 0;
    function sort() {
      const col = th.dataset.col;
      sortDir = sortCol === col ? -sortDir : 1;
      sortCol = col;
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
      render();
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") sort(); });
  });
  [filter, statusSel, ruleSel].forEach(function (c) {
    c.addEventListener("input", render);
  });
  render();
})();
