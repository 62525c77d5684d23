// chromabridge inspection page. Plain DOM: every piece of stored text is set with
// textContent (never innerHTML), so document text can never become markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const state = { collection: null, docOffset: 0, docLimit: 25, tab: "search" };
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.setAttribute("class", value);
    else if (key === "style") node.style.cssText = value; // CSSOM: allowed by the page's CSP
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function token() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) sessionStorage.setItem("chromabridge-token", fromHash);
  return sessionStorage.getItem("chromabridge-token");
}

async function api(path, body) {
  const headers = { "Content-Type": "application/json" };
  const secret = token();
  if (secret) headers.Authorization = "Bearer " + secret;
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) $("token-form").hidden = false;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(data.detail)
      ? data.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ")
      : data.detail;
    throw new Error(detail || `HTTP ${response.status}`);
  }
  return data;
}

function showError(error) {
  $("error").hidden = !error;
  $("error").textContent = error ? String(error.message || error) : "";
}

const base = (name) => `/api/collections/${encodeURIComponent(name)}`;

// -- collections ----------------------------------------------------------------------

async function loadCollections() {
  const { collections } = await api("/api/collections");
  const list = $("collections");
  list.replaceChildren();
  for (const c of collections) {
    const button = el("button", { "data-name": c.name, onclick: () => selectCollection(c.name) },
      el("strong", {}, c.name), el("span", { class: "count" }, `${c.count} chunks`),
      el("span", { class: "embedder" }, c.embedder || ""));
    list.append(el("li", {}, button));
  }
  return collections;
}

function selectCollection(name) {
  state.collection = name;
  state.docOffset = 0;
  for (const b of $("collections").querySelectorAll("button")) {
    b.classList.toggle("active", b.dataset.name === name);
  }
  $("results").replaceChildren();
  $("doc-view").hidden = true;
  $("eval-chart").replaceChildren();
  $("map").replaceChildren();
  showTab(state.tab);
}

// -- tabs -----------------------------------------------------------------------------

function showTab(tab) {
  state.tab = tab;
  for (const b of $("tabs").querySelectorAll("button")) {
    b.classList.toggle("active", b.dataset.tab === tab);
  }
  for (const p of document.querySelectorAll(".panel")) p.hidden = p.id !== `panel-${tab}`;
  if (!state.collection) return;
  if (tab === "documents") loadDocuments().catch(showError);
  if (tab === "map" && !$("map").firstChild) loadMap().catch(showError);
  if (tab === "eval") loadDatasets().catch(showError);
}

// -- search ---------------------------------------------------------------------------

function chosenModes() {
  return [...$("modes").querySelectorAll("input:checked")].map((i) => i.value);
}

function filterBody() {
  const body = {};
  const text = $("filter").value.trim();
  if (text) {
    let parsed;
    try { parsed = JSON.parse(text); } catch (e) { throw new Error(`filter is not JSON: ${e.message}`); }
    body[$("dialect").value] = parsed;
  }
  const contains = $("contains").value.trim();
  if (contains) body.where_document = { $contains: contains };
  return body;
}

function hitCard(hit) {
  const source = hit.source || hit.doc_id || "";
  return el("li", { class: "hit", "data-id": hit.id },
    el("div", { class: "hit-head" },
      el("span", { class: "score" }, hit.score.toFixed(3)),
      el("span", { class: "source" }, source),
      el("span", { class: "shared-badge" }, "shared")),
    el("p", { class: "hit-text" }, hit.text));
}

function markShared(columns) {
  const seen = new Map();
  for (const hits of columns) for (const id of new Set(hits.map((h) => h.id))) {
    seen.set(id, (seen.get(id) || 0) + 1);
  }
  for (const card of $("results").querySelectorAll(".hit")) {
    card.classList.toggle("shared", seen.get(card.dataset.id) > 1);
  }
}

function linkHover() {
  for (const card of $("results").querySelectorAll(".hit")) {
    card.addEventListener("mouseenter", () => {
      for (const twin of $("results").querySelectorAll(".hit")) {
        twin.classList.toggle("twin", twin.dataset.id === card.dataset.id);
      }
    });
  }
}

async function runQuery() {
  showError(null);
  if (!state.collection) throw new Error("choose a collection first");
  const q = $("q").value.trim();
  const modes = chosenModes();
  if (!q || !modes.length) throw new Error("type a question and choose at least one mode");
  const k = Number($("k").value) || 5;
  const filter = filterBody();
  const params = new URLSearchParams({ collection: state.collection, q, modes: modes.join(","), k });
  if ($("filter").value.trim()) params.set($("dialect").value, $("filter").value.trim());
  history.replaceState(null, "", `/?${params}${location.hash}`);
  const results = $("results");
  results.replaceChildren();
  $("status").textContent = "searching…";
  const answers = await Promise.all(
    modes.map((mode) => api(`${base(state.collection)}/query`, { query: q, k, mode, ...filter })));
  results.style.setProperty("--columns", modes.length);
  answers.forEach((answer, i) => {
    results.append(el("div", { class: "mode-col", "data-mode": modes[i] },
      el("h3", {}, modes[i]), el("ol", {}, ...answer.hits.map(hitCard))));
  });
  markShared(answers.map((a) => a.hits));
  linkHover();
  await explainFilter(q, k, modes[0], filter, answers[0].hits);
  $("status").textContent = "";
}

async function explainFilter(q, k, mode, filter, kept) {
  // Which hits the filter removed: the same search without it, minus what stayed.
  const note = $("removed");
  note.hidden = true;
  if (!Object.keys(filter).length) return;
  const open = await api(`${base(state.collection)}/query`, { query: q, k, mode });
  const stayed = new Set(kept.map((h) => h.id));
  const removed = open.hits.filter((h) => !stayed.has(h.id));
  note.textContent = removed.length
    ? `The filter removed ${removed.length} of the unfiltered top ${k} (${mode}): ` +
      removed.map((h) => h.source || h.doc_id).join(", ")
    : `The filter removed none of the unfiltered top ${k} (${mode}).`;
  note.hidden = false;
}

// -- documents ------------------------------------------------------------------------

async function loadDocuments() {
  const page = await api(
    `${base(state.collection)}/documents?offset=${state.docOffset}&limit=${state.docLimit}`);
  const body = $("doc-list").querySelector("tbody");
  body.replaceChildren(...page.documents.map((d) => el("tr", { class: "doc-row", "data-doc": d.doc_id,
    onclick: () => openDocument(d.doc_id).catch(showError) },
    el("td", {}, d.doc_id), el("td", {}, d.source || ""), el("td", {}, d.chunks))));
  const last = Math.min(page.total, state.docOffset + state.docLimit);
  $("doc-page").textContent = `${page.total ? state.docOffset + 1 : 0}–${last} of ${page.total}`;
  $("doc-prev").disabled = state.docOffset === 0;
  $("doc-next").disabled = last >= page.total;
}

async function openDocument(docId) {
  const doc = await api(`${base(state.collection)}/documents/${encodeURIComponent(docId)}`);
  $("doc-title").textContent = `${doc.source || doc.doc_id} — ${doc.chunks.length} chunks`;
  const text = $("doc-text");
  text.replaceChildren();
  let end = null;
  doc.chunks.forEach((chunk, i) => {
    const overlap = end !== null && chunk.start !== null ? Math.max(0, end - chunk.start) : 0;
    const block = el("span", { class: `chunk chunk-${i % 2}`, "data-index": chunk.index,
      title: `chunk ${chunk.index}: characters ${chunk.start}–${chunk.end}` },
      el("span", { class: "boundary" }, `▏#${chunk.index ?? i}`));
    if (overlap) block.append(el("mark", { class: "overlap" }, chunk.text.slice(0, overlap)));
    block.append(chunk.text.slice(overlap));
    text.append(block);
    end = chunk.end;
  });
  $("doc-view").hidden = false;
}

// -- evaluation -----------------------------------------------------------------------

async function loadDatasets() {
  const { datasets } = await api("/api/datasets");
  $("datasets").replaceChildren(...datasets.map((d) => el("option", { value: d })));
  if (!$("dataset").value && datasets.length) $("dataset").value = datasets[0];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function runEval() {
  showError(null);
  const body = { dataset: $("dataset").value.trim(), max_queries: Number($("max-queries").value) || 50,
    modes: ["dense", "hybrid", "mmr"] };
  let job = await api(`${base(state.collection)}/eval`, body);
  const bar = $("eval-progress");
  bar.hidden = false;
  while (job.status === "queued" || job.status === "running") {
    bar.max = job.total || 1;
    bar.value = job.done;
    $("eval-phase").textContent = job.phase || job.status;
    await sleep(400);
    job = await api(`${base(state.collection)}/eval/${encodeURIComponent(job.id)}`);
  }
  bar.hidden = true;
  $("eval-phase").textContent = job.status === "done" ? `${job.dataset}: done` : "";
  if (job.status === "failed") throw new Error(job.error);
  drawEvalChart(job.results);
}

function drawEvalChart(results) {
  const modes = Object.keys(results);
  const metrics = ["ndcg@10", "recall@100"];
  const width = 520, height = 260, pad = 36, groupW = (width - pad * 2) / metrics.length;
  const barW = Math.min(48, (groupW - 24) / modes.length);
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  const y = (v) => height - pad - v * (height - pad * 2);
  for (const tick of [0, 0.5, 1]) {
    svg.append(el("svg:line", { x1: pad, x2: width - pad, y1: y(tick), y2: y(tick), class: "grid" }),
      el("svg:text", { x: 4, y: y(tick) + 4, class: "axis" }, tick.toFixed(1)));
  }
  metrics.forEach((metric, g) => {
    const x0 = pad + g * groupW + (groupW - barW * modes.length) / 2;
    modes.forEach((mode, i) => {
      const value = results[mode][metric] || 0;
      const x = x0 + i * barW;
      svg.append(el("svg:rect", { x: x + 2, y: y(value), width: barW - 4, height: y(0) - y(value),
        class: `bar mode-${mode}` }, el("svg:title", {}, `${mode} ${metric}: ${value.toFixed(3)}`)));
      svg.append(el("svg:text", { x: x + barW / 2, y: y(value) - 4, class: "value" }, value.toFixed(2)));
    });
    svg.append(el("svg:text", { x: pad + g * groupW + groupW / 2, y: height - 10, class: "label" }, metric));
  });
  const legend = el("div", { class: "legend" },
    ...modes.map((m) => el("span", { class: `swatch mode-${m}` }, m)));
  $("eval-chart").replaceChildren(svg, legend);
}

// -- embedding map --------------------------------------------------------------------

const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
  "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];

async function loadMap() {
  const data = await api(`${base(state.collection)}/map?sample=1000`);
  const width = 560, height = 400, pad = 16;
  const xs = data.points.map((p) => p.x), ys = data.points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)], [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (v) => pad + ((v - x0) / (x1 - x0 || 1)) * (width - 2 * pad);
  const sy = (v) => height - pad - ((v - y0) / (y1 - y0 || 1)) * (height - 2 * pad);
  const sources = [...new Set(data.points.map((p) => p.source))];
  const colour = (s) => PALETTE[sources.indexOf(s) % PALETTE.length];
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  const tip = $("tooltip");
  for (const p of data.points) {
    const dot = el("svg:circle", { cx: sx(p.x), cy: sy(p.y), r: 4, fill: colour(p.source),
      class: "point", "data-source": p.source });
    dot.addEventListener("mouseenter", (event) => {
      tip.replaceChildren(el("strong", {}, p.source), el("p", {}, p.text));
      tip.style.left = `${event.pageX + 12}px`;
      tip.style.top = `${event.pageY + 12}px`;
      tip.hidden = false;
    });
    dot.addEventListener("mouseleave", () => { tip.hidden = true; });
    svg.append(dot);
  }
  $("map").replaceChildren(svg);
  $("map-legend").replaceChildren(...sources.slice(0, 30).map((s) =>
    el("li", {}, el("span", { class: "dot", style: `background:${colour(s)}` }), s)));
}

// -- start ----------------------------------------------------------------------------

async function start() {
  for (const b of $("tabs").querySelectorAll("button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("query-form").addEventListener("submit", (e) => { e.preventDefault(); runQuery().catch(showError); });
  $("eval-form").addEventListener("submit", (e) => { e.preventDefault(); runEval().catch(showError); });
  $("doc-prev").addEventListener("click", () => { state.docOffset = Math.max(0, state.docOffset - state.docLimit); loadDocuments().catch(showError); });
  $("doc-next").addEventListener("click", () => { state.docOffset += state.docLimit; loadDocuments().catch(showError); });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("chromabridge-token", $("token").value);
    $("token-form").hidden = true;
    start().catch(showError);
  });
  const collections = await loadCollections();
  // Deep link: /?collection=NAME&q=TEXT&modes=dense,hybrid[&k=N][&where=JSON]
  const params = new URLSearchParams(location.search);
  const wanted = params.get("collection") || (collections[0] && collections[0].name);
  if (wanted) selectCollection(wanted);
  if (params.get("k")) $("k").value = params.get("k");
  if (params.get("modes")) {
    const modes = params.get("modes").split(",");
    for (const box of $("modes").querySelectorAll("input")) box.checked = modes.includes(box.value);
  }
  for (const dialect of ["where", "filters"]) {
    if (params.get(dialect)) { $("dialect").value = dialect; $("filter").value = params.get(dialect); $("filter-editor").open = true; }
  }
  if (params.get("q")) {
    $("q").value = params.get("q");
    await runQuery();
  }
  document.body.dataset.ready = "true";
}

start().catch((error) => { showError(error); document.body.dataset.ready = "true"; });
