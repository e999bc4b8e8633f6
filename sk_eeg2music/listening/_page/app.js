/* A MUSHRA-style listening test (ITU-R BS.1534-3) with an optional 2AFC block.
 * Written by sk_eeg2music.listening.make_test; the test itself is window.LISTENING_TEST.
 * Every order is drawn from FNV-1a(key) -> mulberry32 -> Fisher-Yates; the Python
 * twin in sk_eeg2music/listening/_order.py reproduces it bit for bit. */
"use strict";
(function () {
  const TEST = window.LISTENING_TEST;
  const app = document.getElementById("app");
  const players = document.getElementById("players");
  const LISTENER_RE = /^[A-Za-z0-9_-]{1,32}$/;

  // ---- seeded randomisation (keep identical to _order.py) ----
  function fnv1a32(text) {
    let h = 0x811c9dc5;
    for (const byte of new TextEncoder().encode(text)) {
      h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }
  function mulberry32(a) {
    return function () {
      a |= 0; a = a + 0x6D2B79F5 | 0;
      let t = Math.imul(a ^ a >>> 15, 1 | a);
      t = t + Math.imul(t ^ t >>> 7, 61 | t) ^ t;
      return ((t ^ t >>> 14) >>> 0) / 4294967296;
    };
  }
  function shuffle(items, key) {
    const out = items.slice();
    const rand = mulberry32(fnv1a32(key));
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  // ---- state ----
  const state = { listener: null, seed: null, rows: [], screens: [], index: 0, done: false };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  // ---- playback: one <audio> per sound; switching keeps the position (in sync) ----
  const player = {
    audios: {}, counts: {}, current: null, loop: true, buttons: {},
    reset() {
      for (const a of Object.values(this.audios)) { a.pause(); a.remove(); }
      this.audios = {}; this.counts = {}; this.current = null; this.buttons = {};
    },
    add(key, src, button) {
      const a = el("audio", { preload: "auto", src: src });
      a.addEventListener("ended", () => { if (this.current === key) this.stop(); });
      players.append(a);
      this.audios[key] = a; this.counts[key] = 0; this.buttons[key] = button;
    },
    play(key) {
      if (this.current === key) { this.stop(); return; }
      const next = this.audios[key];
      let t = 0;
      if (this.current !== null) {
        const prev = this.audios[this.current];
        t = prev.currentTime; prev.pause();
      }
      next.loop = this.loop;
      try { next.currentTime = isFinite(next.duration) && t >= next.duration ? 0 : t; } catch (e) { /* not loaded yet */ }
      const started = next.play();
      if (started && started.catch) started.catch(() => {});
      this.counts[key] += 1;
      this.current = key;
      this.show();
    },
    stop() {
      if (this.current !== null) this.audios[this.current].pause();
      this.current = null; this.show();
    },
    setLoop(on) {
      this.loop = on;
      for (const a of Object.values(this.audios)) a.loop = on;
    },
    show() {
      for (const [k, b] of Object.entries(this.buttons)) b.setAttribute("aria-pressed", String(k === this.current));
    },
  };

  function letter(i) { return String.fromCharCode(65 + i); }

  function transport(hint) {
    const loop = el("input", { type: "checkbox", id: "loop", checked: player.loop,
      onchange: (e) => player.setLoop(e.target.checked) });
    return el("div", { class: "controls" },
      el("button", { type: "button", id: "stop", text: "Stop", onclick: () => player.stop() }),
      el("label", { for: "loop" }, loop, " Loop"),
      el("span", { class: "keys", text: hint }));
  }

  function progress(label) {
    const total = state.screens.length;
    return el("div", {},
      el("p", { class: "hint", text: `${label} · screen ${state.index + 1} of ${total}` }),
      el("progress", { max: total, value: state.index, "aria-label": "progress" }));
  }

  // ---- screens ----
  function welcome() {
    const input = el("input", { type: "text", id: "listener", autocomplete: "off",
      "aria-describedby": "listener-hint", spellcheck: "false" });
    const alert = el("div", { class: "alert", role: "alert", id: "alert" });
    const form = el("form", { onsubmit: (e) => {
      e.preventDefault();
      const code = input.value.trim();
      if (!LISTENER_RE.test(code)) {
        alert.textContent = "Enter a listener code of 1 to 32 letters, digits, - or _ (for example L07).";
        input.focus(); return;
      }
      start(code);
    } },
      el("p", {}, el("label", { for: "listener", text: "Listener code: " }), input),
      el("p", { class: "hint", id: "listener-hint",
        text: "Use the code you were given (for example L07), never your name. The code seeds the order in which you hear the sounds." }),
      alert,
      el("button", { type: "submit", class: "primary", id: "start", text: "Start" }));
    const nAfc = TEST.afc.length;
    app.replaceChildren(
      el("h1", { text: TEST.title }),
      el("p", { text: TEST.instructions }),
      el("p", { class: "hint", text: `${TEST.mushra.length} rating trials` +
        (nAfc ? ` and ${nAfc} short identification questions.` : ".") +
        " Use headphones in a quiet room, and set a comfortable level on the first reference before rating." }),
      form);
    input.focus();
  }

  function start(code) {
    state.listener = code;
    const base = `${TEST.seed}|${code}`;
    state.seed = fnv1a32(base);
    const byId = Object.fromEntries(TEST.mushra.map((t) => [t.id, t]));
    shuffle(TEST.mushra.map((t) => t.id), `${base}|trials`).forEach((id, k) => {
      const trial = byId[id];
      const order = shuffle(trial.clips.map((c) => c.id), `${base}|${id}`);
      state.screens.push({ kind: "mushra", trial, position: k + 1, order });
    });
    const afcById = Object.fromEntries(TEST.afc.map((t) => [t.id, t]));
    shuffle(TEST.afc.map((t) => t.id), `${base}|afc`).forEach((id, k) => {
      const target = mulberry32(fnv1a32(`${base}|${id}|side`))() < 0.5 ? "A" : "B";
      state.screens.push({ kind: "afc", trial: afcById[id], position: k + 1, target });
    });
    window.addEventListener("beforeunload", (e) => { if (!state.done) { e.preventDefault(); e.returnValue = ""; } });
    show(0);
  }

  function show(i) {
    state.index = i;
    player.reset();
    window.scrollTo(0, 0);
    if (i >= state.screens.length) return finish();
    const screen = state.screens[i];
    (screen.kind === "mushra" ? mushra : afc)(screen);
  }

  function mushra(screen) {
    const trial = screen.trial;
    const clips = Object.fromEntries(trial.clips.map((c) => [c.id, c]));
    const t0 = performance.now();
    const rated = new Set();
    const refButton = el("button", { type: "button", id: "play-ref", text: "Play reference", "aria-pressed": "false",
      onclick: () => player.play("ref") });
    player.add("ref", trial.reference, refButton);
    const grid = el("div", { class: "grid", role: "group", "aria-label": "versions to rate" },
      el("span"), el("div", { class: "scale", "aria-hidden": "true" },
        ...TEST.labels.map((l) => el("span", { text: l }))), el("span"));
    const sliders = {};
    screen.order.forEach((cid, k) => {
      const name = letter(k);
      const button = el("button", { type: "button", id: `play-${name}`, "aria-pressed": "false",
        text: `Play ${name}`, onclick: () => player.play(cid) });
      player.add(cid, clips[cid].file, button);
      const out = el("output", { id: `value-${name}`, text: "–" });
      const slider = el("input", { type: "range", min: 0, max: 100, step: 1, value: 50, id: `rate-${name}`,
        class: "unrated", "aria-label": `rating of ${name}, 0 bad to 100 excellent`,
        "aria-valuetext": "not rated", "data-clip": cid });
      const mark = () => {
        rated.add(cid); slider.classList.remove("unrated");
        const v = Number(slider.value);
        out.textContent = String(v);
        slider.setAttribute("aria-valuetext", `${v}, ${TEST.labels[Math.min(4, Math.floor(v / 20))]}`);
      };
      slider.addEventListener("input", mark);
      slider.addEventListener("change", mark);
      slider.addEventListener("pointerup", mark);
      slider.addEventListener("keydown", (e) => {
        if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"].includes(e.key)) {
          setTimeout(mark, 0);
        }
      });
      sliders[cid] = slider;
      grid.append(button, slider, out);
    });
    const alert = el("div", { class: "alert", role: "alert", id: "alert" });
    const next = el("button", { type: "button", class: "primary", id: "next", text: "Next", onclick: () => {
      const missing = screen.order.map((cid, k) => [cid, letter(k)]).filter(([cid]) => !rated.has(cid));
      if (missing.length) {
        alert.textContent = `Rate every version before going on: ${missing.map((m) => m[1]).join(", ")} ` +
          `${missing.length === 1 ? "is" : "are"} not rated yet (move the slider).`;
        sliders[missing[0][0]].focus();
        return;
      }
      const spent = Math.round((performance.now() - t0) / 10) / 100;
      screen.order.forEach((cid, k) => {
        const c = clips[cid];
        state.rows.push({ listener: state.listener, seed: state.seed, block: "mushra", trial: trial.id,
          trial_position: screen.position, stimulus: trial.stimulus, segment: trial.segment,
          condition: trial.condition, system: c.system, subject: c.subject, clip: cid,
          rating: Number(sliders[cid].value), choice: "", correct: "",
          play_count: player.counts[cid], time_spent_s: spent, order_shown: k + 1 });
      });
      show(state.index + 1);
    } });
    const keys = "Keys: R reference, 1–9 play a version, S stop; Tab to a slider and use the arrow keys.";
    app.replaceChildren(progress("Rating"),
      el("h2", { text: `Trial ${screen.position} of ${TEST.mushra.length}` }),
      el("p", { text: "Rate how close each version is to the reference (0 bad … 100 excellent). One of them is the reference itself." }),
      el("div", { class: "controls" }, refButton), transport(keys), grid, alert,
      el("div", { class: "controls" }, next));
    state.keys = (e) => {
      const k = e.key.toLowerCase();
      if (k === "r") player.play("ref");
      else if (k === "s") player.stop();
      else if (/^[1-9]$/.test(k) && Number(k) <= screen.order.length) player.play(screen.order[Number(k) - 1]);
      else return;
      e.preventDefault();
    };
    refButton.focus();
  }

  function afc(screen) {
    const trial = screen.trial;
    const t0 = performance.now();
    const files = { x: trial.x, A: screen.target === "A" ? trial.target : trial.foil,
      B: screen.target === "A" ? trial.foil : trial.target };
    const buttons = {};
    for (const key of ["x", "A", "B"]) {
      const name = key === "x" ? "X" : key;
      buttons[key] = el("button", { type: "button", id: `play-${name}`, "aria-pressed": "false",
        text: `Play ${name}`, onclick: () => player.play(key) });
      player.add(key, files[key], buttons[key]);
    }
    const radios = ["A", "B"].map((v) => el("input", { type: "radio", name: "choice", value: v, id: `choice-${v}` }));
    const alert = el("div", { class: "alert", role: "alert", id: "alert" });
    const next = el("button", { type: "button", class: "primary", id: "next", text: "Next", onclick: () => {
      const picked = radios.find((r) => r.checked);
      if (!picked) { alert.textContent = "Choose A or B before going on."; radios[0].focus(); return; }
      const spent = Math.round((performance.now() - t0) / 10) / 100;
      state.rows.push({ listener: state.listener, seed: state.seed, block: "2afc", trial: trial.id,
        trial_position: screen.position, stimulus: trial.stimulus, segment: trial.segment,
        condition: trial.condition, system: trial.system, subject: trial.subject, clip: trial.clip,
        rating: "", choice: picked.value, correct: picked.value === screen.target ? 1 : 0,
        play_count: player.counts.x + player.counts.A + player.counts.B, time_spent_s: spent,
        order_shown: screen.target === "A" ? 1 : 2 });
      show(state.index + 1);
    } });
    const keys = "Keys: X, A, B play; S stop; Tab to the choices and use the arrow keys.";
    app.replaceChildren(progress("Identification"),
      el("h2", { text: `Question ${screen.position} of ${TEST.afc.length}` }),
      el("p", { text: TEST.afc_instructions }),
      el("div", { class: "controls" }, buttons.x, buttons.A, buttons.B), transport(keys),
      el("fieldset", {}, el("legend", { text: "Which of A and B is the same music as X?" }),
        el("label", { for: "choice-A" }, radios[0], " A"), el("label", { for: "choice-B" }, radios[1], " B")),
      alert, el("div", { class: "controls" }, next));
    state.keys = (e) => {
      const k = e.key.toLowerCase();
      if (k === "x") player.play("x");
      else if (k === "a") player.play("A");
      else if (k === "b") player.play("B");
      else if (k === "s") player.stop();
      else return;
      e.preventDefault();
    };
    buttons.x.focus();
  }

  // ---- results ----
  function csvCell(v) {
    const s = String(v === null || v === undefined ? "" : v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }
  function toCsv() {
    const lines = [TEST.columns.join(",")];
    for (const row of state.rows) lines.push(TEST.columns.map((c) => csvCell(row[c])).join(","));
    return lines.join("\r\n") + "\r\n";
  }

  function finish() {
    state.done = true;
    state.keys = null;
    const csv = toCsv();
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
    const filename = `ratings_${state.listener}_${stamp}.csv`;
    const status = el("p", { class: "status", id: "status", role: "status" });
    const download = el("button", { type: "button", class: "primary", id: "download",
      text: "Download ratings (CSV)", onclick: () => {
        const url = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
        const a = el("a", { href: url, download: filename });
        document.body.append(a); a.click(); a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } });
    app.replaceChildren(el("h1", { text: "Thank you" }),
      el("p", { text: `You gave ${state.rows.length} answers. Download the ratings and send the file to the person running the test.` }),
      el("div", { class: "controls" }, download), status);
    window.LISTENING_RESULT = csv;
    download.focus();
    if (location.protocol === "http:" || location.protocol === "https:") {
      status.textContent = "Saving on the test server…";
      fetch("ratings", { method: "POST", headers: { "Content-Type": "text/csv" }, body: csv })
        .then((r) => r.json().then((body) => [r.ok, body], () => [false, { error: `status ${r.status}` }]))
        .then(([ok, body]) => {
          status.textContent = ok ? `Saved on the test server as ${body.saved}.` :
            `Not saved on the server (${body.error || "no ratings endpoint"}); please download the CSV.`;
        }, () => { status.textContent = "Not saved on the server; please download the CSV."; });
    } else {
      status.textContent = "Opened from a file: the ratings are only kept if you download them.";
    }
  }

  document.addEventListener("keydown", (e) => {
    if (!state.keys || e.altKey || e.ctrlKey || e.metaKey) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" && t.type === "text")) return;
    state.keys(e);
  });

  if (!TEST) {
    app.replaceChildren(el("p", { class: "alert", text: "test.js is missing: rebuild the test with `eeg2music listen`." }));
  } else {
    document.title = TEST.title;
    welcome();
  }
})();
