// serinus dashboard: the Canaries you may see, one Canary live, its control buttons.
// Every request carries the Kubernetes token pasted at sign-in (kept in this tab's session
// storage, sent as "Authorization: Bearer"); the server asks Kubernetes what it allows.
// Everything from the server is shown as text (textContent), except the timeline drawing,
// which the server renders with every text escaped.
"use strict";

const TOKEN = "serinus-token";
const ACTIONS = ["promote", "abort", "pause", "resume", "retry", "skip-analysis"];
let stream = null;      // the AbortController of the live stream
let listTimer = null;
let pinnedRun = null;   // an older run shown instead of the live timeline
let pendingRequest = null;  // the id of the request pressed here, until the operator handles it
let lastRequest = null;     // the last request handled, as the latest view said

const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem(TOKEN); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${token()}` }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    signOut("Kubernetes did not accept the token: sign in again.");
    throw new Error("unauthorized");
  }
  return response;
}

function show(section) {
  for (const id of ["signin", "list", "canary"]) $(id).hidden = id !== section;
  $("error").textContent = "";
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN);
  stopStream();
  clearInterval(listTimer);
  $("who").textContent = "";
  $("signout").hidden = true;
  show("signin");
  $("signin-error").textContent = message || "";
}

async function signIn(event) {
  event.preventDefault();
  const value = $("token").value.trim();
  if (!value) return;
  sessionStorage.setItem(TOKEN, value);
  $("token").value = "";
  route();
}

async function whoami() {
  const response = await api("/api/whoami");
  const body = await response.json();
  $("who").textContent = `signed in as ${body.user}`;
  $("signout").hidden = false;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function stepText(view) {
  return view.steps ? `${view.step} of ${view.steps}` : "-";
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "?";
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60 ? (s % 60) + "s" : ""}` : `${s}s`;
}

// --- the list ----------------------------------------------------------------------------------

async function showList() {
  show("list");
  const refresh = async () => {
    const response = await api("/api/canaries");
    if (!response.ok) { $("error").textContent = `HTTP ${response.status}`; return; }
    const body = await response.json();
    const tbody = $("canaries").querySelector("tbody");
    tbody.replaceChildren();
    for (const view of body.items) {
      const row = document.createElement("tr");
      cell(row, view.namespace);
      const name = cell(row, "");
      const link = document.createElement("a");
      link.href = `#/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}`;
      link.textContent = view.name;
      name.appendChild(link);
      cell(row, view.phase + (view.paused_by ? " (paused)" : ""), `phase ${view.phase}`);
      cell(row, `${view.weight}%`, "weight");
      cell(row, stepText(view));
      cell(row, view.threshold ? `${view.failed_checks} of ${view.threshold}` : "-");
      tbody.appendChild(row);
    }
    $("list-empty").hidden = body.items.length > 0;
  };
  await refresh();
  listTimer = setInterval(() => refresh().catch(() => {}), 3000);
}

// --- one Canary --------------------------------------------------------------------------------

function render(document_) {
  if (document_.error) { $("error").textContent = document_.error; return; }
  $("error").textContent = "";
  const view = document_.view;
  $("title").textContent = `${view.name}.${view.namespace}`;
  $("phase").textContent = view.phase;
  $("phase").className = `phase ${view.phase}`;
  $("paused").textContent = view.paused_by ? `paused by ${view.paused_by}` : "";
  $("message").textContent = view.message || "";
  $("bar-fill").style.width = `${view.weight}%`;
  $("weight").textContent = `canary weight ${view.weight}%`;
  let step = view.steps ? `step ${view.step} of ${view.steps}` : "";
  if (step && view.phase === "Failed") step += ", reached before the rollback";
  if (view.time_left !== null && view.time_left !== undefined) {
    const inStep = view.in_step !== null ? `${duration(view.in_step)} in this step, ` : "";
    step += `, ${inStep}about ${duration(view.time_left)} to go`;
  }
  $("step").textContent = step;
  $("checks").textContent = view.threshold !== null
    ? `failed checks ${view.failed_checks} of ${view.threshold}` : "";
  renderControls(document_);
  renderRequestOutcome(view.last_request);
  if (pinnedRun === null) {
    $("timeline-of").textContent = document_.runs.length
      ? `(run ${document_.runs.length}, live)` : "";
    setTimeline(document_.timeline);
  }
  renderMetrics(view.metrics);
  renderHooks(view.hooks);
  renderRuns(document_.runs, view);
  renderEvents(view.events);
}

function setTimeline(svg) {
  const box = $("timeline");
  if (!svg) { box.textContent = "No run recorded yet."; return; }
  // drawn by the server, every text in it escaped there
  box.innerHTML = svg;
}

function renderControls(document_) {
  const box = $("controls");
  box.replaceChildren();
  if (!document_.may_control) {
    const note = document.createElement("span");
    note.textContent = "You may not control this Canary.";
    box.appendChild(note);
    return;
  }
  for (const action of ACTIONS) {
    const button = document.createElement("button");
    button.textContent = action;
    button.dataset.action = action;
    button.disabled = !document_.actions.includes(action);
    button.addEventListener("click", () => control(document_.view, action));
    box.appendChild(button);
  }
}

async function control(view, action) {
  if (!window.confirm(`${action} ${view.name}.${view.namespace}?`)) return;
  const path = `/api/canaries/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}/requests`;
  const response = await api(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ action }),
  });
  const body = await response.json().catch(() => ({}));
  pendingRequest = response.ok ? body.id : null;
  $("control-result").textContent = response.ok
    ? `${action} requested by ${body.by}; the operator acts on its next tick.`
    : `${action} refused: ${body.error || response.status}`;
  renderRequestOutcome(lastRequest);  // the stream may have told it before this answer came
}

// once the operator has handled the request pressed here, say what it made of it
function renderRequestOutcome(last) {
  lastRequest = last;
  if (!pendingRequest || !last || last.id !== pendingRequest) return;
  pendingRequest = null;
  $("control-result").textContent = last.accepted
    ? `${last.action} requested by ${last.by}: accepted by the operator.`
    : `${last.action} requested by ${last.by}: refused by the operator: ${last.message || ""}`;
}

function bounds(metric) {
  const parts = [];
  if (metric.min !== null) parts.push(`>= ${metric.min}`);
  if (metric.max !== null) parts.push(`<= ${metric.max}`);
  return parts.join(" and ");
}

function renderMetrics(metrics) {
  const tbody = $("metrics").querySelector("tbody");
  tbody.replaceChildren();
  for (const metric of metrics) {
    const row = document.createElement("tr");
    cell(row, metric.name);
    cell(row, metric.value === null ? "-" : Number(metric.value).toPrecision(4));
    cell(row, bounds(metric));
    cell(row, metric.verdict, `verdict ${metric.verdict}`);
    const judge = metric.judge;
    cell(row, judge ? `${judge.outcome}${judge.upper !== null ? `, bound ${Number(judge.upper).toPrecision(3)}` : ""}: ${judge.reason}` : "");
    tbody.appendChild(row);
  }
}

function renderHooks(hooks) {
  const tbody = $("hooks").querySelector("tbody");
  tbody.replaceChildren();
  for (const hook of hooks) {
    const row = document.createElement("tr");
    cell(row, hook.name); cell(row, hook.type); cell(row, hook.url); cell(row, hook.last || "");
    tbody.appendChild(row);
  }
}

function renderRuns(runs, view) {
  const tbody = $("runs").querySelector("tbody");
  tbody.replaceChildren();
  for (const run of runs.slice().reverse()) {
    const row = document.createElement("tr");
    cell(row, run.index); cell(row, run.revision); cell(row, run.started);
    cell(row, run.ended || "running"); cell(row, run.outcome || "", run.outcome || "");
    const actions = cell(row, "");
    const showRun = document.createElement("button");
    showRun.textContent = "timeline";
    showRun.addEventListener("click", () => pin(view, run.index, runs.length));
    const download = document.createElement("button");
    download.textContent = "report";
    download.addEventListener("click", () => saveReport(view, run.index));
    actions.append(showRun, download);
    tbody.appendChild(row);
  }
}

function renderEvents(events) {
  const list = $("events");
  list.replaceChildren();
  for (const event of events.slice().reverse()) {
    const item = document.createElement("li");
    item.textContent = `${event.time || ""} ${event.type}: ${event.message}${event.count > 1 ? ` (x${event.count})` : ""}`;
    if (event.type === "Warning") item.className = "warning";
    list.appendChild(item);
  }
}

function base(view) {
  return `/api/canaries/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}`;
}

async function pin(view, index, count) {
  if (index === count) { pinnedRun = null; return; }
  const response = await api(`${base(view)}/runs/${index}`);
  if (!response.ok) return;
  const body = await response.json();
  pinnedRun = index;
  $("timeline-of").textContent = `(run ${index}, ${body.run.outcome || "running"}) `;
  const live = document.createElement("button");
  live.textContent = "back to live";
  live.addEventListener("click", () => { pinnedRun = null; });
  $("timeline-of").appendChild(live);
  setTimeline(body.timeline);
}

async function saveReport(view, index) {
  const response = await api(`${base(view)}/runs/${index}/report`);
  if (!response.ok) return;
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `${view.name}-run-${index}.html`;
  link.click();
  URL.revokeObjectURL(link.href);
}

function stopStream() {
  if (stream) stream.abort();
  stream = null;
}

async function follow(namespace, name) {
  stopStream();
  const controller = new AbortController();
  stream = controller;
  const path = `/api/canaries/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/stream`;
  while (stream === controller) {
    try {
      const response = await api(path, { signal: controller.signal });
      if (response.status === 403 || response.status === 404) {
        $("error").textContent = response.status === 403
          ? "You may not see this Canary." : "No such Canary.";
        $("canary").hidden = true;
        return;
      }
      $("live").textContent = "live";
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const kind = (message.match(/^event: (.*)$/m) || [])[1];
          const data = (message.match(/^data: (.*)$/m) || [])[1];
          if (kind === "view" && data) render(JSON.parse(data));
          if (kind === "denied" || kind === "gone") {
            $("error").textContent = kind === "denied" ? "Access withdrawn." : "The Canary is gone.";
            return;
          }
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    $("live").textContent = "reconnecting";
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

// --- routing -----------------------------------------------------------------------------------

async function route() {
  stopStream();
  clearInterval(listTimer);
  pinnedRun = null;
  if (!token()) { show("signin"); return; }
  try {
    await whoami();
    const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
    if (parts.length === 2) {
      show("canary");
      follow(decodeURIComponent(parts[0]), decodeURIComponent(parts[1]));
    } else {
      await showList();
    }
  } catch (error) {
    if (error.message !== "unauthorized") $("error").textContent = String(error);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut(""));
  window.addEventListener("hashchange", route);
  route();
});
