// claimwatch: the analyst's page. Plain JavaScript, no dependencies, no build step.
// Views by path: "/" incidents, "/incidents/ID" one incident, "/narratives/ID" one narrative.
// Every text from posts goes in through textContent, never as HTML.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 3000;
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];
const STATUSES = ["report", "speculative", "unconfirmed", "confirmed", "contradicted"];
const KINDS = ["attribution", "casualty", "method", "other"];
const SVGNS = "http://www.w3.org/2000/svg";

let writeToken = null; // in memory only: gone when the tab closes
let cursor = null;
let refresh = null; // the current view's "something changed" handler

// -- small helpers --------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (k === "style") { // through the CSSOM: the page's CSP refuses style attributes
      for (const rule of String(v).split(";")) {
        const [name, value] = rule.split(":");
        if (name && value) el.style.setProperty(name.trim(), value.trim());
      }
    }
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const LOCAL = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
  second: "2-digit", timeZoneName: "short",
});
const SHORT = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const COMPACT = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

function utc(iso) {
  return new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function time(iso) {
  if (!iso) return h("span", { class: "muted", text: "–" });
  return h("time", { datetime: iso, title: utc(iso), text: LOCAL.format(new Date(iso)) });
}

function shortTime(iso) { // for table cells: day and minute, the full time and UTC on hover
  if (!iso) return h("span", { class: "muted", text: "–" });
  return h("time", { datetime: iso, title: `${LOCAL.format(new Date(iso))} (${utc(iso)})`, class: "nowrap", text: COMPACT.format(new Date(iso)) });
}

function num(n, digits) {
  if (n === null || n === undefined) return "–";
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits ?? 0 });
}

function since(iso, until) {
  const ms = (until ? new Date(until) : new Date()) - new Date(iso);
  const m = Math.max(0, Math.round(ms / 60000));
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  const days = Math.floor(hours / 24);
  if (days < 730) return `${days} days`;
  return `${Math.floor(days / 365)} years`;
}

function badge(word) {
  return h("span", { class: `badge ${word}`, text: word.replace("_", " ") });
}

function table(head, rows, caption) {
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", { class: "muted", text: caption }) : null,
      h("thead", {}, h("tr", {}, head.map(([t, cls]) => h("th", { class: cls || null, scope: "col", text: t })))),
      h("tbody", {}, rows)));
}

function section(id, title, ...body) {
  return h("section", { id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h`, text: title }), body);
}

function fill(id, ...children) {
  const el = document.getElementById(id);
  if (!el) return;
  el.replaceChildren();
  append(el, children);
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (r.status === 401) { location.reload(); throw new Error("signed out"); }
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

// -- writes: the write token (asked once, kept in memory) and the page's CSRF token -----

function askWriteToken(message) {
  const dialog = document.getElementById("write-dialog");
  const input = document.getElementById("write-token");
  const error = document.getElementById("write-error");
  error.hidden = !message;
  error.textContent = message || "";
  input.value = "";
  return new Promise((resolve) => {
    const done = (value) => {
      dialog.removeEventListener("close", onClose);
      resolve(value);
    };
    const onClose = () => done(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null);
    dialog.addEventListener("close", onClose);
    document.getElementById("write-cancel").onclick = () => dialog.close("cancel");
    dialog.showModal();
    input.focus();
  });
}

async function write(url, body) {
  let message = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (!writeToken) writeToken = await askWriteToken(message);
    if (!writeToken) throw new Error("cancelled: no write token given");
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": CSRF,
        Authorization: `Bearer ${writeToken}` },
      body: JSON.stringify(body || {}),
    });
    const answer = await r.json();
    if (r.status === 401) { writeToken = null; message = answer.error || "wrong write token"; continue; }
    if (!r.ok) throw new Error(answer.error || `HTTP ${r.status}`);
    return answer;
  }
  throw new Error(message || "the write token was refused");
}

function findingForm(incidentId, kind, onDone) {
  const status = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  const text = h("textarea", { id: "finding-text", name: "text", required: true,
    placeholder: "What an authority established, e.g. “All 150 people on board died”" });
  const kindSel = h("select", { id: "finding-kind", name: "kind" },
    h("option", { value: "", text: "read from the text" }),
    KINDS.map((k) => h("option", { value: k, text: k, selected: k === kind })));
  const statusSel = h("select", { id: "finding-status", name: "status" },
    ["confirmed", "ruled_out", "pending"].map((k) => h("option", { value: k, text: k.replace("_", " ") })));
  const actors = h("input", { id: "finding-actors", name: "actors", placeholder: "comma separated" });
  const button = h("button", { type: "submit", text: "Add finding" });
  const form = h("form", { class: "form", id: "finding-form" },
    h("div", {}, h("label", { for: "finding-text", text: "Finding" }), text),
    h("div", { class: "row" },
      h("div", {}, h("label", { for: "finding-kind", text: "Question (kind)" }), kindSel),
      h("div", {}, h("label", { for: "finding-status", text: "Status" }), statusSel),
      h("div", {}, h("label", { for: "finding-actors", text: "Actors" }), actors)),
    h("div", {}, button), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.className = "notice";
    status.textContent = "Recording…";
    try {
      const f = await write(`/page/api/incidents/${encodeURIComponent(incidentId)}/findings`, {
        text: text.value, kind: kindSel.value || null, status: statusSel.value,
        actors: actors.value.split(",").map((a) => a.trim()).filter(Boolean),
      });
      status.textContent = `Finding #${f.id} recorded (${f.status} ${f.kind}).`;
      text.value = "";
      await onDone();
    } catch (err) {
      status.className = "error";
      status.textContent = `Not recorded: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

// -- live: a cursor polled every few seconds -------------------------------------------

function showBanner(alert) {
  const banner = document.getElementById("banner");
  banner.replaceChildren(
    h("strong", { text: `Alert ${alert.event}` }),
    h("a", { href: `/narratives/${alert.narrative_id}`, text: `#${alert.narrative_id} ${alert.label}` }),
    h("span", { text: alert.reason }),
    h("button", { type: "button", class: "secondary", onclick: () => { banner.hidden = true; }, text: "Dismiss" }));
  banner.hidden = false;
}

async function poll() {
  const live = document.getElementById("live");
  try {
    const params = new URLSearchParams({ posts: cursor ? cursor.posts : -1, alert: cursor ? cursor.alert : "" });
    const incident = document.body.dataset.incident;
    if (incident) params.set("incident", incident);
    const news = await getJSON(`/page/api/live?${params}`);
    const changed = cursor && (news.new_posts > 0 || news.alerts.length > 0);
    if (cursor) {
      const raised = news.alerts.filter((a) => a.event === "raised" || a.event === "escalated");
      if (raised.length) showBanner(raised[0]);
    }
    cursor = news.cursor;
    live.classList.remove("stale");
    live.textContent = `live · ${num(cursor.posts)} posts`;
    if (changed && refresh) await refresh(news);
  } catch (err) {
    live.classList.add("stale");
    live.textContent = "reconnecting…";
  }
  setTimeout(poll, POLL_MS);
}

// -- view: incidents -------------------------------------------------------------------

async function incidentsView(main) {
  document.title = "Incidents · claimwatch";
  main.replaceChildren(h("h1", { text: "Incidents" }), h("div", { id: "incidents" }));
  const draw = async () => {
    const data = await getJSON("/page/api/overview");
    const rows = data.incidents.map((i) => h("tr", {},
      h("td", { class: "label" }, h("a", { href: `/incidents/${encodeURIComponent(i.id)}`, text: i.title }),
        h("div", { class: "muted", text: i.id })),
      h("td", {}, badge(i.closed_at ? "closed" : "open")),
      h("td", {}, time(i.started_at)),
      h("td", { text: i.closed_at ? `ran ${since(i.started_at, i.closed_at)}` : since(i.started_at) }),
      h("td", { class: "num", text: num(i.posts) }),
      h("td", { class: "num", text: num(i.narratives) }),
      h("td", { class: "num" }, i.alerts_open ? badge(`${i.alerts_open} open`) : "0"),
      h("td", { class: "num", text: num(i.findings) }),
      h("td", { class: "hide-narrow" }, time(i.latest_post))));
    fill("incidents", rows.length ? table(
      [["Incident"], ["State"], ["Started"], ["Since start"], ["Posts", "num"], ["Narratives", "num"],
        ["Alerts open", "num"], ["Findings", "num"], ["Latest post", "hide-narrow"]], rows)
      : h("p", { class: "muted", text: "No incidents yet: add one with `claimwatch incident add`." }));
    return data;
  };
  const data = await draw();
  cursor = cursor || data.cursor;
  refresh = draw;
}

// -- view: one incident ----------------------------------------------------------------

async function incidentView(main, incidentId) {
  document.body.dataset.incident = incidentId;
  const filters = { status: "", kind: "", all: false };
  const SHOWN = 20; // the page API sends the 20 most spread narratives and newest alerts
  const base = `/page/api/incidents/${encodeURIComponent(incidentId)}`;
  let data = null;
  let rows = null; // the narratives table: { narratives, matching, total, active_minutes }
  let allAlerts = null; // every alert event, once "show all" was pressed
  let span = "busiest"; // the timeline's range
  let tableRequest = 0;
  const statusSel = h("select", { id: "filter-status" },
    h("option", { value: "", text: "any" }), STATUSES.map((x) => h("option", { value: x, text: x })));
  const kindSel = h("select", { id: "filter-kind" },
    h("option", { value: "", text: "any" }), KINDS.map((x) => h("option", { value: x, text: x })));
  statusSel.addEventListener("change", () => { filters.status = statusSel.value; filters.all = false; loadNarratives(); });
  kindSel.addEventListener("change", () => { filters.kind = kindSel.value; filters.all = false; loadNarratives(); });
  const query = h("input", { id: "search-q", type: "search", name: "q", placeholder: "a claim, e.g. the co-pilot crashed the plane on purpose" });
  const searchForm = h("form", { class: "filters", id: "search-form", role: "search" },
    h("div", { style: "flex:1" }, h("label", { for: "search-q", text: "Claims like" }), query),
    h("button", { type: "submit", text: "Search" }));
  searchForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!query.value.trim()) return;
    fill("search-results", h("p", { class: "muted", text: "Searching…" }));
    try {
      const hits = await getJSON(`/v1/query?${new URLSearchParams({ q: query.value, k: 10, incident: incidentId })}`);
      fill("search-results", hits.length ? table([["Score", "num"], ["Claim"], ["Author"], ["Posted"], ["Narratives"]],
        hits.map((x) => h("tr", { class: "hit" },
          h("td", { class: "num", text: num(x.score, 3) }),
          h("td", { class: "label", text: x.text + (x.same_text ? ` (+${x.same_text} same)` : "") }),
          h("td", { text: x.author || "–" }),
          h("td", {}, time(x.created_at)),
          h("td", {}, x.narratives.map((n) => h("span", {}, h("a", { href: `/narratives/${n.id}`, text: `#${n.id}` }), " ", badge(n.status), " "))))))
        : h("p", { class: "muted", text: "Nothing similar." }));
    } catch (err) {
      fill("search-results", h("p", { class: "error", text: err.message }));
    }
  });
  const closeButton = h("button", { type: "button", class: "secondary", id: "close-incident", text: "Close incident" });
  closeButton.addEventListener("click", async () => {
    if (!confirm("Stop linking new posts to this incident?")) return;
    try { await write(`/page/api/incidents/${encodeURIComponent(incidentId)}/close`); await draw(); }
    catch (err) { fill("incident-note", h("span", { class: "error", text: err.message })); }
  });

  main.replaceChildren(
    h("div", { id: "incident-head" }, h("h1", { text: incidentId })),
    section("timeline", "Spread against verified reporting", h("div", { class: "filters", id: "ranges", role: "group", "aria-label": "Time range" }),
      h("div", { id: "chart", class: "chart" })),
    section("narratives", "Narratives",
      h("div", { class: "filters" },
        h("div", {}, h("label", { for: "filter-status", text: "Status" }), statusSel),
        h("div", {}, h("label", { for: "filter-kind", text: "Kind" }), kindSel),
        h("span", { class: "muted", id: "narrative-count" })),
      h("div", { id: "narrative-table" })),
    h("div", { class: "grid2" },
      section("alerts", "Alerts", h("div", { id: "alert-list" })),
      section("posts", "Newest posts", h("ul", { class: "posts", id: "post-list" }))),
    section("findings", "Findings", h("div", { id: "finding-list" }),
      h("h3", { text: "Record a finding" }), findingForm(incidentId, "", () => draw())),
    section("search", "Search similar claims", searchForm, h("div", { id: "search-results" })),
    h("p", {}, closeButton, " ", h("span", { id: "incident-note" })));

  // the narratives table: the incident answer's top rows, or the filter's from the page API
  async function loadNarratives() {
    const ask = ++tableRequest;
    if (!filters.status && !filters.kind && !filters.all) {
      rows = { narratives: data.narratives, matching: data.narratives_total, total: data.narratives_total };
    } else {
      const params = new URLSearchParams({ status: filters.status, kind: filters.kind,
        limit: filters.all ? Math.max(SHOWN, data.narratives_total) : SHOWN });
      const answer = await getJSON(`${base}/narratives?${params}`);
      if (ask !== tableRequest) return; // a later filter won
      rows = answer;
    }
    drawNarratives();
  }

  function drawNarratives() {
    const shown = rows.narratives;
    fill("narrative-count", `${rows.matching} of ${rows.total}`);
    const more = rows.matching > shown.length;
    const holder = document.getElementById("narrative-table");
    holder.dataset.status = filters.status;
    holder.dataset.kind = filters.kind;
    fill("narrative-table", table(
      [["#", "num"], ["Narrative"], ["Status"], ["Kind"], ["Actors"], ["Spread /min", "num"],
        ["Posts", "num"], ["Authors", "num hide-mid"], ["Reach", "num"], ["Stances", "hide-narrow"], ["First seen"]],
      shown.map((n) => h("tr", { "data-narrative": n.id },
        h("td", { class: "num", text: n.id }),
        h("td", { class: "label" }, h("a", { href: `/narratives/${n.id}`, text: n.label })),
        h("td", {}, badge(n.status)),
        h("td", { text: n.kind }),
        h("td", { text: n.actors.join(", ") || "–" }),
        h("td", { class: "num", text: num(n.spread_now, 2) }),
        h("td", { class: "num", text: num(n.size) }),
        h("td", { class: "num hide-mid", text: num(n.authors) }),
        h("td", { class: "num", text: num(n.reach) }),
        h("td", { class: "hide-narrow nowrap", title: "replies: support · deny · query · comment", text: ["support", "deny", "query", "comment"].map((k) => n.stances[k] || 0).join(" · ") }),
        h("td", {}, shortTime(n.first_seen)))),
      `most spread first; spread is posts per minute over the last ${num(data.active_minutes)} minutes of event time; stances: replies that support · deny · query · comment`),
      more ? h("button", { type: "button", class: "secondary", id: "show-all", text: `Show all ${rows.matching}`,
        onclick: () => { filters.all = true; loadNarratives(); } }) : null);
  }

  // the alert list: the newest, or every one once asked
  function drawAlerts() {
    const list = allAlerts || data.alerts;
    const total = allAlerts ? allAlerts.length : data.alerts_total;
    const count = h("p", { class: "muted", id: "alert-count", text: total > list.length ? `${list.length} newest of ${total} alert events` : `${total} alert events` });
    const more = total > list.length ? h("button", { type: "button", class: "secondary", id: "show-all-alerts", text: `Show all ${total}`,
      onclick: async () => { allAlerts = (await getJSON(`${base}/alerts`)).alerts; drawAlerts(); } }) : null;
    fill("alert-list", total ? count : null, alertList(list), more);
  }

  function drawRanges() {
    const names = { busiest: "Busiest", "6h": "6 h", "24h": "24 h", all: "All" };
    fill("ranges", h("span", { class: "muted", text: "Range" }), Object.entries(names).map(([key, text]) => h("button", {
      type: "button", class: "secondary range", "data-span": key, "aria-pressed": String(key === span), text,
      title: key === "busiest" ? "from the start until activity stays under 5% of its peak (at most 12 h)" : null,
      onclick: async () => {
        span = key;
        drawRanges();
        data.timeline = await getJSON(`${base}/timeline?span=${key}`);
        drawTimeline(document.getElementById("chart"), data.timeline);
      } })));
  }

  async function draw() {
    data = await getJSON(`${base}?span=${span}`);
    const i = data.incident;
    document.title = `${i.title} · claimwatch`;
    fill("incident-head",
      h("h1", { text: i.title }),
      h("p", { class: "muted", text: i.description }),
      h("ul", { class: "facts" },
        h("li", {}, i.closed_at ? badge("closed") : badge("open")),
        h("li", {}, "started ", time(i.started_at), ` (${since(i.started_at, i.closed_at)} ago)`),
        h("li", {}, h("b", { id: "post-count", text: num(i.posts) }), " posts"),
        h("li", {}, h("b", { text: num(i.narratives) }), " narratives"),
        h("li", {}, h("b", { id: "alerts-open", text: num(i.alerts_open) }), " alerts open"),
        h("li", {}, h("b", { text: num(i.findings) }), " findings"),
        h("li", {}, "latest post ", time(i.latest_post))));
    closeButton.disabled = !!i.closed_at;
    drawRanges();
    drawTimeline(document.getElementById("chart"), data.timeline);
    if (allAlerts) allAlerts = (await getJSON(`${base}/alerts`)).alerts;
    drawAlerts();
    fill("finding-list", findingList(data.findings));
    fill("post-list", data.posts.map(postItem));
    await loadNarratives();
    return data;
  }

  const first = await draw();
  cursor = cursor || first.cursor;
  refresh = draw;
}

function alertList(alerts) {
  if (!alerts.length) return h("p", { class: "muted", text: "No alerts." });
  return h("ul", { class: "posts alerts" }, alerts.map((a) => h("li", { class: "alert", "data-alert": a.alert_id, "data-event": a.event },
    h("div", {}, badge(a.event), " ", a.open ? badge("open") : null, " ",
      h("a", { href: `/narratives/${a.narrative_id}`, text: `#${a.narrative_id} ${a.label}` })),
    h("div", { class: "meta" }, `${a.rule} · ${a.severity} · `, time(a.at),
      ` · ${num(a.spread_rate, 2)}/min against ${num(a.verified_rate, 2)}/min verified`),
    h("div", { text: a.reason }),
    h("div", { class: "meta" }, "delivery: ", a.deliveries.length ? a.deliveries.map((d) => h("span", { class: "delivery", title: d.last_error || d.detail || "" },
      `${d.channel} `, badge(d.state), ` ${d.attempts}× `)) : "no channels"))));
}

function findingList(findings) {
  if (!findings.length) return h("p", { class: "muted", text: "No findings yet." });
  return h("ul", { class: "posts" }, findings.map((f) => h("li", { class: "finding" },
    h("div", {}, badge(f.status), ` ${f.kind} `, f.actors.length ? `[${f.actors.join(", ")}] ` : "", h("span", { text: f.text })),
    h("div", { class: "meta" }, time(f.at), f.automatic ? ` · from ${f.author || "a post"}` : " · recorded by an analyst"))));
}

function postItem(p) {
  return h("li", { class: "post" },
    h("div", { text: p.text }),
    h("div", { class: "meta" }, `${p.author || "?"} · ${p.tier || "unverified"} · ${num(p.followers)} followers · `, time(p.created_at),
      p.url ? [" · ", h("a", { href: p.url, rel: "noopener noreferrer", target: "_blank", text: "original" })] : null));
}

// -- the timeline: SVG drawn from the series ---------------------------------------------

function drawTimeline(holder, t) {
  holder.replaceChildren();
  if (!t.start || !t.series.length) {
    holder.append(h("p", { class: "muted", text: "No posts yet." }));
    return;
  }
  const W = 960, H = 380, L = 48, R = 12, T = 14, B = 36;
  const t0 = new Date(t.start).getTime(), t1 = new Date(t.end).getTime();
  const times = t.times.map((x) => new Date(x).getTime());
  const all = [...t.series.flatMap((x) => x.rates), ...Object.values(t.verified).flat(), ...t.alerts.map((a) => a.spread_rate)];
  const top = Math.max(0.1, ...all) * 1.1;
  const x = (ms) => L + ((ms - t0) / Math.max(1, t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / top) * (H - T - B);
  const hidden = new Set();
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": "chart-title chart-desc" },
    s("title", { id: "chart-title", text: "Spread rate of the top narratives against the verified rate on their question" }),
    s("desc", { id: "chart-desc", text: `${t.series.length} narratives, ${t.findings.length} findings, ${t.alerts.length} alert events; posts per minute in a sliding ${t.window_minutes}-minute window.` }));
  const grid = s("g", { class: "axis" });
  for (let k = 0; k <= 4; k++) {
    const v = (top / 1.1) * k / 4;
    grid.append(s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v) }),
      s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", text: num(v, 2) }));
  }
  const span = t1 - t0;
  for (let k = 0; k <= 6; k++) {
    const ms = t0 + (span * k) / 6;
    const d = new Date(ms);
    const anchor = k === 0 ? "start" : k === 6 ? "end" : "middle"; // the ends stay inside
    grid.append(s("text", { x: x(ms), y: H - B + 16, "text-anchor": anchor, text: SHORT.format(d) }),
      s("text", { x: x(ms), y: H - B + 30, "text-anchor": anchor, text: k === 0 || DAY.format(d) !== DAY.format(new Date(t0 + (span * (k - 1)) / 6)) ? DAY.format(d) : "" }));
  }
  grid.append(s("text", { x: 4, y: 10, text: `posts/min (${t.window_minutes}-min window)` }));
  svg.append(grid);
  const path = (rates) => rates.map((v, k) => `${k ? "L" : "M"}${x(times[k]).toFixed(1)},${y(v).toFixed(1)}`).join("");
  const layers = {};
  const kindDash = { attribution: "2 3", casualty: "6 3", method: "8 3 2 3", other: "4 4" };
  for (const [kind, rates] of Object.entries(t.verified)) {
    const g = s("g", { "data-verified": kind },
      s("path", { class: "verified-area", d: `${path(rates)}L${x(t1)},${y(0)}L${x(t0)},${y(0)}Z` }),
      s("path", { class: "verified", d: path(rates), "stroke-dasharray": kindDash[kind] || "5 3" }));
    layers[`v:${kind}`] = g;
    svg.append(g);
  }
  const colour = {};
  t.series.forEach((ser, k) => {
    colour[ser.narrative_id] = COLOURS[k % COLOURS.length];
    const g = s("path", { class: "series", d: path(ser.rates), stroke: colour[ser.narrative_id], "data-series": ser.narrative_id });
    layers[`n:${ser.narrative_id}`] = g;
    svg.append(g);
  });
  const tip = h("div", { class: "tip", hidden: true });
  // findings: a dashed line each; a label only where it keeps 14 px from the last one
  // (rotated labels closer than that overprint); every finding's text on hover or focus
  let lastLabel = -Infinity;
  for (const f of [...t.findings].sort((a, b) => new Date(a.at) - new Date(b.at))) {
    const fx = x(new Date(f.at).getTime());
    const label = `finding (${f.status} ${f.kind}) at ${LOCAL.format(new Date(f.at))}: ${f.text}`;
    const roomy = fx - lastLabel >= 14;
    if (roomy) lastLabel = fx;
    const g = s("g", { class: "finding", tabindex: 0, role: "img", "aria-label": label, "data-finding": f.id },
      s("title", { text: label }),
      s("line", { x1: fx, x2: fx, y1: T, y2: H - B }),
      s("line", { class: "hit", x1: fx, x2: fx, y1: T, y2: H - B }),
      roomy ? s("text", { x: fx - 3, y: T + 4, transform: `rotate(-90 ${fx - 3} ${T + 4})`, "text-anchor": "end", text: `finding: ${f.text.slice(0, 48)}` }) : null);
    const show = () => { tip.textContent = label; tip.style.whiteSpace = "normal"; tip.hidden = false; placeTip(fx, T + 40); };
    g.addEventListener("mouseenter", show);
    g.addEventListener("focus", show);
    g.addEventListener("mouseleave", () => { tip.hidden = true; });
    g.addEventListener("blur", () => { tip.hidden = true; });
    svg.append(g);
  }
  const shapes = { raised: "M0,-7L7,6L-7,6Z", escalated: "M0,-8L8,0L0,8L-8,0Z", resolved: "M-6,-6L6,6M6,-6L-6,6" };
  for (const a of t.alerts) {
    const ax = x(new Date(a.at).getTime()), ay = y(a.spread_rate);
    const label = `alert ${a.event} on #${a.narrative_id} (${a.rule}, ${a.severity}) at ${LOCAL.format(new Date(a.at))}: ${a.reason}`;
    const m = s("path", { class: "marker", d: shapes[a.event] || "M-5,0a5,5 0 1,0 10,0a5,5 0 1,0 -10,0", transform: `translate(${ax},${ay})`,
      fill: colour[a.narrative_id] || "#333", stroke: a.event === "resolved" ? (colour[a.narrative_id] || "#333") : "#000",
      "stroke-width": a.event === "resolved" ? 3 : 1, tabindex: 0, role: "img", "aria-label": label, "data-alert": a.alert_id, "data-event": a.event },
      s("title", { text: label }));
    const show = () => { tip.textContent = label; tip.style.whiteSpace = "normal"; tip.hidden = false; placeTip(ax, ay); };
    m.addEventListener("mouseenter", show);
    m.addEventListener("focus", show);
    m.addEventListener("mouseleave", () => { tip.hidden = true; });
    m.addEventListener("blur", () => { tip.hidden = true; });
    layers[`a:${a.alert_id}`] = m;
    m.dataset.narrative = a.narrative_id;
    svg.append(m);
  }
  const cursorLine = s("line", { class: "cursor", y1: T, y2: H - B, visibility: "hidden" });
  svg.append(cursorLine);
  function placeTip(px, py) {
    const box = svg.getBoundingClientRect();
    const scale = box.width / W;
    tip.style.left = `${Math.min(px * scale + 12, box.width - 240)}px`;
    tip.style.top = `${py * scale + 12}px`;
  }
  svg.addEventListener("mousemove", (event) => {
    if (event.target.closest && event.target.closest(".marker, .finding")) return;
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * W;
    if (px < L || px > W - R) { tip.hidden = true; cursorLine.setAttribute("visibility", "hidden"); return; }
    const ms = t0 + ((px - L) / (W - L - R)) * span;
    let k = 0;
    while (k < times.length - 1 && times[k + 1] <= ms) k++;
    cursorLine.setAttribute("x1", x(times[k])); cursorLine.setAttribute("x2", x(times[k]));
    cursorLine.setAttribute("visibility", "visible");
    const lines = [LOCAL.format(new Date(times[k]))];
    for (const ser of t.series) if (!hidden.has(ser.narrative_id)) lines.push(`#${ser.narrative_id}: ${num(ser.rates[k], 2)}/min (verified ${ser.kind}: ${num(t.verified[ser.kind][k], 2)})`);
    tip.textContent = lines.join("\n");
    tip.style.whiteSpace = "pre";
    tip.hidden = false;
    placeTip(px, (event.clientY - box.top) / (box.width / W));
  });
  svg.addEventListener("mouseleave", () => { tip.hidden = true; cursorLine.setAttribute("visibility", "hidden"); });
  const legend = h("ul", { class: "legend", "aria-label": "Series (press to show or hide)" });
  t.series.forEach((ser) => {
    const b = h("button", { type: "button", "aria-pressed": "true", "data-series": ser.narrative_id },
      h("span", { class: "swatch", style: `background:${colour[ser.narrative_id]}` }),
      `#${ser.narrative_id} ${ser.status} ${ser.kind}: ${ser.label.slice(0, 60)}`);
    b.addEventListener("click", () => {
      const off = !hidden.has(ser.narrative_id);
      if (off) hidden.add(ser.narrative_id); else hidden.delete(ser.narrative_id);
      b.setAttribute("aria-pressed", String(!off));
      layers[`n:${ser.narrative_id}`].setAttribute("visibility", off ? "hidden" : "visible");
      svg.querySelectorAll(`.marker[data-narrative="${ser.narrative_id}"]`).forEach((m) => m.setAttribute("visibility", off ? "hidden" : "visible"));
    });
    legend.append(h("li", {}, b));
  });
  for (const kind of Object.keys(t.verified)) {
    legend.append(h("li", { class: "muted" }, h("span", { class: "swatch", style: "background:#999" }), `verified rate on ${kind}`));
  }
  legend.append(h("li", { class: "muted", text: "▲ raised · ◆ escalated · ✕ resolved · dashed green: finding" }));
  holder.append(svg, tip, legend);
}

// -- view: one narrative ---------------------------------------------------------------

async function narrativeView(main, narrativeId) {
  let offset = 0;
  const LIMIT = 25;
  main.replaceChildren(
    h("div", { id: "narrative-head" }, h("h1", { text: `Narrative #${narrativeId}` })),
    h("div", { class: "grid2" },
      section("first-post", "First post", h("div", { id: "first" })),
      section("history", "Status history", h("ol", { class: "posts", id: "history-list" }))),
    section("activity", "Activity (posts per 10 minutes)", h("div", { id: "activity-chart", class: "chart" })),
    h("div", { class: "grid2" },
      section("stances", "Replies by stance", h("div", { id: "stance-table" })),
      section("narrative-alerts", "Alerts", h("div", { id: "alert-list" }))),
    section("top-posts", "Posts that spread it most (reach)", h("div", { id: "top-table" })),
    section("claims", "Claims", h("div", { id: "claim-table" }), h("div", { class: "pager", id: "pager" })),
    section("add-finding", "Record a finding", h("div", { id: "finding-slot" })));

  let formDrawn = false;
  async function draw() {
    const n = await getJSON(`/page/api/narratives/${narrativeId}?offset=${offset}&limit=${LIMIT}`);
    document.body.dataset.incident = n.incident_id;
    document.title = `#${n.id} ${n.label} · claimwatch`;
    fill("narrative-head",
      h("p", {}, h("a", { href: `/incidents/${encodeURIComponent(n.incident_id)}`, text: `← ${n.incident_id}` })),
      h("h1", { text: `#${n.id} ${n.label}` }),
      n.merged_from ? h("p", { class: "muted", text: `(#${n.merged_from} was merged into this one)` }) : null,
      h("ul", { class: "facts" },
        h("li", { id: "narrative-status" }, badge(n.status)),
        h("li", { text: n.kind }),
        h("li", { text: `actors: ${n.actors.join(", ") || "–"}` }),
        h("li", {}, h("b", { text: num(n.size) }), " posts"),
        h("li", {}, h("b", { text: num(n.authors) }), " authors"),
        h("li", {}, h("b", { text: num(n.reposts) }), " reposts"),
        h("li", {}, "first seen ", time(n.first_seen)),
        h("li", {}, "last seen ", time(n.last_seen))));
    const f = n.first_post;
    fill("first", f ? h("div", { class: "card" },
      h("blockquote", { class: "quote", text: f.text }),
      h("div", { class: "meta muted" }, `${f.author || "?"} · ${f.tier || "unverified"} · ${f.source} · `, time(f.created_at), " · ",
        f.url ? h("a", { href: f.url, rel: "noopener noreferrer", target: "_blank", id: "first-link", text: "original post" }) : `post ${f.post_id}`))
      : h("p", { class: "muted", text: "Unknown." }));
    fill("history-list", n.history.map((e) => h("li", {},
      h("div", {}, badge(e.status), " from ", time(e.at)),
      e.finding ? h("div", { class: "meta" }, `decided by finding #${e.finding.id} (${e.finding.status} ${e.finding.kind}): `, h("span", { text: e.finding.text })) : null)));
    drawActivity(document.getElementById("activity-chart"), n.activity);
    const total = n.stances || {};
    fill("stance-table", table([["Stance"], ["Replies", "num"]],
      ["support", "deny", "query", "comment"].map((k) => h("tr", {}, h("td", { text: k }), h("td", { class: "num", text: num(total[k] || 0) })))));
    fill("alert-list", alertList([...n.alerts].map((a) => ({ ...a, open: false }))));
    fill("top-table", table([["Reach", "num"], ["Post"], ["Author"], ["Role"], ["Posted"]],
      n.top_posts.map((p) => h("tr", {},
        h("td", { class: "num", text: num(p.followers) }),
        h("td", { class: "label" }, h("span", { text: p.text }), p.url ? [" ", h("a", { href: p.url, rel: "noopener noreferrer", target: "_blank", text: "original" })] : null),
        h("td", { text: p.author || "?" }), h("td", { text: p.role }), h("td", {}, time(p.created_at))))));
    fill("claim-table", table([["Claim"], ["Author"], ["Tier"], ["Hedge", "num"], ["Posted"]],
      n.claims.map((c) => h("tr", { class: "claim" },
        h("td", { class: "label", text: c.text }), h("td", { text: c.author || "?" }),
        h("td", { text: c.tier || "unverified" }), h("td", { class: "num", text: num(c.hedge, 2) }),
        h("td", {}, time(c.created_at))))));
    const prev = h("button", { type: "button", class: "secondary", disabled: offset === 0, text: "← Earlier" });
    const next = h("button", { type: "button", class: "secondary", disabled: offset + LIMIT >= n.claims_total, text: "Later →" });
    prev.addEventListener("click", () => { offset = Math.max(0, offset - LIMIT); draw(); });
    next.addEventListener("click", () => { offset += LIMIT; draw(); });
    fill("pager", prev, h("span", { class: "muted", text: `claims ${n.claims_total ? offset + 1 : 0}–${Math.min(offset + LIMIT, n.claims_total)} of ${n.claims_total}` }), next);
    if (!formDrawn) {
      fill("finding-slot", findingForm(n.incident_id, n.kind, () => draw()));
      formDrawn = true;
    }
    return n;
  }
  await draw();
  refresh = draw;
}

function drawActivity(holder, buckets) {
  holder.replaceChildren();
  if (!buckets.length) return;
  const W = 960, H = 160, L = 40, B = 28, T = 8;
  const top = Math.max(1, ...buckets.map((b) => b.posts));
  const bw = (W - L - 8) / buckets.length;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Posts per 10 minutes over ${buckets.length} intervals; peak ${top}` });
  const g = s("g", { class: "bars" });
  buckets.forEach((b, k) => {
    const hgt = (b.posts / top) * (H - T - B);
    g.append(s("rect", { x: L + k * bw, y: H - B - hgt, width: Math.max(1, bw - 1), height: hgt },
      s("title", { text: `${LOCAL.format(new Date(b.start))} (${utc(b.start)}): ${b.posts} posts; replies: ${b.support || 0} support, ${b.deny || 0} deny, ${b.query || 0} query, ${b.comment || 0} comment` })));
  });
  const axis = s("g", { class: "axis" },
    s("text", { x: L - 6, y: T + 10, "text-anchor": "end", text: top }),
    s("text", { x: L, y: H - 8, text: LOCAL.format(new Date(buckets[0].start)) }),
    s("text", { x: W - 8, y: H - 8, "text-anchor": "end", text: LOCAL.format(new Date(buckets[buckets.length - 1].start)) }));
  svg.append(g, axis);
  holder.append(svg);
}

// -- start -----------------------------------------------------------------------------

async function start() {
  document.getElementById("tz").textContent = ZONE;
  const main = document.getElementById("main");
  const path = location.pathname;
  let m;
  try {
    if ((m = path.match(/^\/incidents\/([^/]+)$/))) await incidentView(main, decodeURIComponent(m[1]));
    else if ((m = path.match(/^\/narratives\/(\d+)$/))) await narrativeView(main, Number(m[1]));
    else await incidentsView(main);
  } catch (err) {
    main.replaceChildren(h("h1", { text: "Not available" }), h("p", { class: "error", text: err.message }),
      h("p", {}, h("a", { href: "/", text: "All incidents" })));
  }
  poll();
}

start();
