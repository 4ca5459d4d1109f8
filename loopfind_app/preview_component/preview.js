/* Loopfind preview: the track plays and every event fires on screen, on the audio clock.
 *
 * Timing. The track is one AudioBufferSourceNode started at a known AudioContext time; a
 * "segment" maps context time to track time: pos(ctxT) = startPos + (ctxT - startCtx) * rate.
 * - Clicks are AudioBufferSourceNodes started with start(when) at the event's exact context
 *   time (a lookahead scheduler queues the next 0.5 s; a timer only decides *when to queue*,
 *   never when a sound plays), so they are sample-accurate against the track.
 * - Visuals are drawn in requestAnimationFrame from the output clock: the context time of the
 *   sample leaving the speakers now (getOutputTimestamp, interpolated with performance.now;
 *   else currentTime minus outputLatency/baseLatency). A note flashes in the frame nearest to
 *   when it is heard: the first frame whose output time is at most half a frame before it
 *   (a frame reaches the screen a frame or more after it is drawn, so it is never seen early).
 * For each event the context times of its schedule, its drawn flash and its click are kept in
 * window.__loopfindPreview.fired (the browser test reads them).
 *
 * Speed: playbackRate on the buffer source (0.5-1x). The pitch drops with the speed; a
 * pitch-preserving media element would not be sample-locked to the audio clock.
 *
 * Streamlit: the component protocol (componentReady, render, setFrameHeight) by postMessage,
 * without a build step; render args: doc (lanes, events, beats, waveform), audio (OGG bytes),
 * audio_key (changes when the track does). Standalone (tests): call __loopfindPreview.render.
 * User text (sound and track names) is only ever drawn on canvas or set as textContent.
 */
(function () {
  "use strict";

  const COLORS = ["#22d3ee", "#f472b6", "#facc15", "#a3e635", "#a78bfa", "#fb923c", "#34d399",
                  "#60a5fa", "#f87171", "#e879f9"];
  const CLICK_HZ = [1568, 1175, 2093, 880, 1319, 1760, 988, 2349, 1047, 1480];
  const AHEAD_S = 5.0;       // track seconds from the hit line to the right edge
  const LOOKAHEAD_S = 0.5;   // clicks are queued this far ahead of the audio clock
  const SCHEDULE_MS = 40;    // how often the queue is topped up
  const START_LEAD_S = 0.08; // the track starts this long after play is pressed
  const MISSED_S = 0.3;      // a flash later than this (page hidden) is counted, not drawn
  const FLASH_MS = 380;
  const MIN_LANE_H = 58, MAX_LANE_H = 92, MIN_STAGE_H = 250;
  const WAVE_H = 78;

  const $ = (id) => document.getElementById(id);
  const el = {
    player: $("player"), play: $("play"), back: $("back"), forward: $("forward"),
    now: $("now"), total: $("total"), clicks: $("clicks"), badge: $("badge"),
    stage: $("stage"), wave: $("wave"), foot: $("foot"), overlay: $("overlay"),
    speeds: Array.from(document.querySelectorAll(".speed button")),
  };

  const S = {
    doc: null, events: [], lanes: [], duration: 0, audioKey: null, buffer: null,
    ctx: null, music: null, clickBus: null, clickBuffers: [],
    playing: false, ended: false, source: null, seg: null, pos: 0, rate: 1,
    nextClick: 0, nextFlash: 0, pending: [], timer: null, raf: 0,
    flashAt: [], hits: [], ringAt: [], fired: [], records: new Map(), missed: 0, hover: null, scrubbing: false,
    clock: { last: 0 }, decoding: null, frameMs: 1000 / 60, lastFrame: 0,
  };

  // ----- small helpers -------------------------------------------------------------------
  function fmt(t) {
    t = Math.max(0, t || 0);
    const m = Math.floor(t / 60), s = t - 60 * m;
    return m + ":" + (s < 10 ? "0" : "") + s.toFixed(2);
  }
  function firstAtOrAfter(t) {  // index of the first event with start >= t (events sorted)
    let lo = 0, hi = S.events.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (S.events[mid].t < t - 1e-9) lo = mid + 1; else hi = mid; }
    return lo;
  }
  const clamp = (x, a, b) => Math.min(b, Math.max(a, x));
  const color = (lane) => COLORS[lane % COLORS.length];
  function rgba(hex, alpha) {
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }

  // ----- the audio clock -----------------------------------------------------------------
  function ensureContext() {
    if (S.ctx) return S.ctx;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    S.ctx = new Ctx({ latencyHint: "interactive" });
    S.music = S.ctx.createGain();
    S.music.connect(S.ctx.destination);
    S.clickBus = S.ctx.createGain();
    S.clickBus.gain.value = el.clicks.checked ? 0.42 : 0;
    S.clickBus.connect(S.ctx.destination);
    S.clickBuffers = CLICK_HZ.map(makeClick);
    return S.ctx;
  }
  function makeClick(hz) {  // 35 ms: a short noise transient and a fast-decaying tone
    const sr = S.ctx.sampleRate, n = Math.round(0.035 * sr);
    const buffer = S.ctx.createBuffer(1, n, sr), data = buffer.getChannelData(0);
    let seed = 12345;
    for (let i = 0; i < n; i++) {
      const t = i / sr;
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = i < 0.0015 * sr ? (seed / 0x7fffffff * 2 - 1) * 0.6 : 0;
      data[i] = (0.9 * Math.sin(2 * Math.PI * hz * t) + noise) * Math.exp(-t / 0.009);
    }
    return buffer;
  }
  function outputTime() {  // context time of the sample being heard now
    const ctx = S.ctx;
    let t = ctx.currentTime - (ctx.outputLatency || ctx.baseLatency || 0);
    if (ctx.getOutputTimestamp) {
      const ts = ctx.getOutputTimestamp();
      if (ts && ts.contextTime > 0 && ts.performanceTime > 0) {
        t = ts.contextTime + (performance.now() - ts.performanceTime) / 1000;
        t = Math.min(t, ctx.currentTime + 0.02);  // never ahead of what is rendered
      }
    }
    S.clock.last = Math.max(S.clock.last, t);  // monotonic
    return S.clock.last;
  }
  const posAt = (ctxT) => S.seg.startPos + (ctxT - S.seg.startCtx) * S.seg.rate;
  const ctxAt = (t) => S.seg.startCtx + (t - S.seg.startPos) / S.seg.rate;
  function position() {  // track seconds now (what is heard while playing)
    if (!S.playing) return S.pos;
    return clamp(posAt(outputTime()), S.seg.startPos, S.duration);
  }

  // ----- transport -----------------------------------------------------------------------
  function stopSound() {
    if (S.source) { try { S.source.stop(); } catch (e) { /* already stopped */ } }
    S.source = null;
    const now = S.ctx ? S.ctx.currentTime : 0;
    for (const p of S.pending) if (p.when > now) { try { p.node.stop(); } catch (e) { /* done */ } }
    S.pending = [];
    if (S.timer) { clearInterval(S.timer); S.timer = null; }
  }
  function startSegment(from) {
    stopSound();
    const ctx = S.ctx, source = ctx.createBufferSource();
    source.buffer = S.buffer;
    source.playbackRate.value = S.rate;
    source.connect(S.music);
    const startCtx = ctx.currentTime + START_LEAD_S;
    source.start(startCtx, from);
    S.source = source;
    S.seg = { startCtx, startPos: from, rate: S.rate };
    S.clock.last = 0;
    S.records = new Map();
    S.lastFrame = 0;
    S.playing = true;
    S.ended = false;
    S.nextClick = S.nextFlash = firstAtOrAfter(from);
    countHits(from);
    source.onended = () => { if (S.source === source && S.playing) { tick(); finish(); } };
    schedule();
    S.timer = setInterval(schedule, SCHEDULE_MS);
    el.player.classList.add("playing");
    el.play.setAttribute("aria-label", "Pause");
    loop();
  }
  async function play() {
    if (!S.buffer || S.playing) return;
    ensureContext();
    if (S.ctx.state !== "running") await S.ctx.resume();
    if (S.pos >= S.duration - 0.02) S.pos = 0;
    startSegment(S.pos);
  }
  function pause() {
    if (!S.playing) return;
    S.pos = clamp(posAt(S.ctx.currentTime), 0, S.duration);
    halt();
  }
  function halt() {
    S.playing = false;
    stopSound();
    el.player.classList.remove("playing");
    el.play.setAttribute("aria-label", "Play");
    draw();
  }
  function finish() {
    S.pos = S.duration;
    S.ended = true;
    halt();
  }
  function toggle() { if (S.playing) pause(); else play(); }
  function seek(t) {
    t = clamp(t, 0, S.duration);
    S.ended = false;
    if (S.playing) startSegment(t);
    else { S.pos = t; countHits(t); draw(); }
  }
  function setSpeed(rate) {
    rate = clamp(Number(rate) || 1, 0.5, 1);
    S.rate = rate;
    for (const b of el.speeds) b.classList.toggle("on", Number(b.dataset.rate) === rate);
    if (S.playing) startSegment(clamp(posAt(S.ctx.currentTime), 0, S.duration));
  }
  function setClicks(on) {
    el.clicks.checked = !!on;
    if (S.clickBus) S.clickBus.gain.setTargetAtTime(on ? 0.42 : 0, S.ctx.currentTime, 0.005);
  }
  function countHits(t) {
    S.hits = S.lanes.map(() => 0);
    for (const e of S.events) if (e.t < t - 1e-9) S.hits[e.lane] += 1;
  }

  // ----- the click scheduler (audio clock) -------------------------------------------------
  function schedule() {
    if (!S.playing) return;
    const now = S.ctx.currentTime, horizon = now + LOOKAHEAD_S;
    while (S.nextClick < S.events.length) {
      const i = S.nextClick, e = S.events[i], when = ctxAt(e.t);
      if (when > horizon) break;
      const rec = record(i);
      if (when >= now) {
        const node = S.ctx.createBufferSource();
        node.buffer = S.clickBuffers[e.lane % S.clickBuffers.length];
        node.connect(S.clickBus);
        node.start(when);
        S.pending.push({ node, when });
        rec.click = when;
      } else {
        rec.clickMissed = true;
      }
      S.nextClick += 1;
    }
    if (S.pending.length > 64) S.pending = S.pending.filter((p) => p.when > now);
  }
  function record(i) {  // the record of event i in this segment (created on first use)
    let rec = S.records.get(i);
    if (!rec) {
      const e = S.events[i];
      rec = { index: i, lane: e.lane, sound: S.lanes[e.lane] ? S.lanes[e.lane].name : "",
              time: e.t, rate: S.seg.rate, scheduled: ctxAt(e.t), drawn: null, click: null };
      S.records.set(i, rec);
      S.fired.push(rec);
    }
    return rec;
  }

  // ----- the frame loop (visuals on the output clock) --------------------------------------
  function tick() {
    if (!S.playing) return;
    const heard = outputTime(), p = posAt(heard), wall = performance.now();
    if (S.lastFrame) S.frameMs = clamp(0.9 * S.frameMs + 0.1 * (wall - S.lastFrame), 4, 50);
    S.lastFrame = wall;
    const lead = S.frameMs / 2000 * S.seg.rate;  // half a frame, in track seconds
    while (S.nextFlash < S.events.length && S.events[S.nextFlash].t <= p + lead) {
      const i = S.nextFlash, e = S.events[i], rec = record(i);
      if (p - e.t > MISSED_S * S.seg.rate) { rec.missed = true; S.missed += 1; }
      else { rec.drawn = heard; S.flashAt[e.lane] = wall; S.ringAt[e.lane] = wall; }
      S.hits[e.lane] += 1;
      S.nextFlash += 1;
    }
    schedule();
    if (p >= S.duration) finish();
  }
  function loop() {
    cancelAnimationFrame(S.raf);
    const frame = () => {
      tick();
      draw();
      const flashing = S.flashAt.some((t) => t && performance.now() - t < FLASH_MS);
      if (S.playing || flashing) S.raf = requestAnimationFrame(frame);
    };
    S.raf = requestAnimationFrame(frame);
  }

  // ----- drawing -------------------------------------------------------------------------
  function fitCanvas(canvas, cssHeight) {
    const dpr = window.devicePixelRatio || 1, width = canvas.clientWidth || 600;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(cssHeight * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(cssHeight * dpr);
      canvas.style.height = cssHeight + "px";
    }
    const g = canvas.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    return [g, width, cssHeight];
  }
  function roundRect(g, x, y, w, h, r) {
    r = Math.min(r, w / 2, h / 2);
    g.beginPath();
    g.moveTo(x + r, y);
    g.arcTo(x + w, y, x + w, y + h, r);
    g.arcTo(x + w, y + h, x, y + h, r);
    g.arcTo(x, y + h, x, y, r);
    g.arcTo(x, y, x + w, y, r);
    g.closePath();
  }
  function ellipsize(g, text, width) {
    if (g.measureText(text).width <= width) return text;
    let lo = 0, hi = text.length;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (g.measureText(text.slice(0, mid) + "…").width <= width) lo = mid; else hi = mid - 1; }
    return text.slice(0, lo) + "…";
  }

  function drawStage(p, wall) {
    const lanes = Math.max(1, S.lanes.length);
    const LANE_H = Math.round(clamp(MIN_STAGE_H / lanes, MIN_LANE_H, MAX_LANE_H));
    const [g, W, H] = fitCanvas(el.stage, lanes * LANE_H + 16);
    const R = Math.round(LANE_H * 0.19);  // note and target radius
    const labelW = clamp(Math.round(W * 0.2), 120, 210), hitX = labelW + 56;
    const pxPerS = (W - hitX - 18) / AHEAD_S, top = 8;
    const x = (t) => hitX + (t - p) * pxPerS;
    g.clearRect(0, 0, W, H);
    const bg = g.createLinearGradient(0, 0, 0, H);
    bg.addColorStop(0, "#0c1328"); bg.addColorStop(1, "#0a0f1f");
    g.fillStyle = bg; g.fillRect(0, 0, W, H);

    for (let k = 0; k < lanes; k++) {  // lane bands
      const y = top + k * LANE_H;
      g.fillStyle = k % 2 ? "rgba(148,163,184,0.035)" : "rgba(148,163,184,0.06)";
      g.fillRect(labelW, y + 3, W - labelW, LANE_H - 6);
      const since = wall - (S.flashAt[k] || -1e9);
      if (since < FLASH_MS && S.lanes.length) {
        const a = 0.3 * (1 - since / FLASH_MS);
        const glow = g.createLinearGradient(hitX - 40, 0, W, 0);
        glow.addColorStop(0, rgba(color(k), a)); glow.addColorStop(0.35, rgba(color(k), a * 0.25));
        glow.addColorStop(1, rgba(color(k), 0));
        g.fillStyle = glow; g.fillRect(labelW, y + 3, W - labelW, LANE_H - 6);
      }
    }
    g.save();  // beats and notes live right of the label column
    g.beginPath(); g.rect(labelW, 0, W - labelW, H); g.clip();
    const beats = (S.doc && S.doc.beats) || [];
    for (let i = 0; i < beats.length; i++) {
      const bx = x(beats[i]);
      if (bx < labelW || bx > W) continue;
      g.fillStyle = i % 4 === 0 ? "rgba(148,163,184,0.22)" : "rgba(148,163,184,0.08)";
      g.fillRect(Math.round(bx), top, i % 4 === 0 ? 1.5 : 1, lanes * LANE_H);
    }
    for (const e of S.events) {  // tails first, heads on top
      const k = e.lane, cy = top + k * LANE_H + LANE_H / 2, x0 = x(e.t), x1 = x(e.t + e.d);
      if (x1 < labelW || x0 > W + 20) continue;
      const held = e.t <= p && e.t + e.d > p;
      const from = e.t <= p ? hitX : x0;
      if (x1 > from) {
        const h = Math.round(R * 1.1);
        g.fillStyle = rgba(color(k), held ? 0.5 : 0.24);
        roundRect(g, from, cy - h / 2, x1 - from, h, h / 2); g.fill();
      }
    }
    const next = S.lanes.map(() => null), held = S.lanes.map(() => false);
    for (const e of S.events) {
      if (e.t > p && next[e.lane] === null) next[e.lane] = e.t;
      if (e.t <= p && e.t + e.d > p) held[e.lane] = true;
    }
    g.font = "12.5px " + fontFamily();
    g.textAlign = "right";
    for (let k = 0; k < S.lanes.length; k++) {  // a quiet lane says when it plays next
      if (held[k] || (next[k] !== null && next[k] <= p + AHEAD_S)) continue;
      g.fillStyle = rgba(color(k), 0.7);
      g.fillText(next[k] === null ? "no more events" : `next at ${fmt(next[k])} →`,
                 W - 16, top + k * LANE_H + LANE_H / 2 + 4);
    }
    g.textAlign = "left";
    for (const e of S.events) {
      const k = e.lane, cy = top + k * LANE_H + LANE_H / 2, hx = x(e.t);
      if (hx < hitX - 2 || hx > W + 20) continue;
      g.shadowColor = color(k); g.shadowBlur = 14;
      g.fillStyle = color(k);
      g.beginPath(); g.arc(hx, cy, R, 0, 2 * Math.PI); g.fill();
      g.shadowBlur = 0;
      g.fillStyle = "rgba(255,255,255,0.85)";
      g.beginPath(); g.arc(hx - R * 0.28, cy - R * 0.28, R * 0.3, 0, 2 * Math.PI); g.fill();
    }
    g.restore();

    const band = g.createLinearGradient(hitX - 26, 0, hitX + 26, 0);  // the hit line
    band.addColorStop(0, "rgba(34,211,238,0)"); band.addColorStop(0.5, "rgba(34,211,238,0.10)");
    band.addColorStop(1, "rgba(34,211,238,0)");
    g.fillStyle = band; g.fillRect(hitX - 26, top, 52, lanes * LANE_H);
    g.fillStyle = "rgba(226,232,240,0.6)";
    g.fillRect(hitX - 1, top, 2, lanes * LANE_H);
    for (let k = 0; k < S.lanes.length; k++) {
      const cy = top + k * LANE_H + LANE_H / 2, since = wall - (S.ringAt[k] || -1e9);
      const f = since < FLASH_MS ? 1 - since / FLASH_MS : 0;
      g.lineWidth = 2.5;
      g.strokeStyle = rgba(color(k), 0.55 + 0.45 * f);
      g.fillStyle = rgba(color(k), 0.12 + 0.75 * f);
      if (f > 0) { g.shadowColor = color(k); g.shadowBlur = 28 * f; }
      g.beginPath(); g.arc(hitX, cy, R + 4 + 4 * f, 0, 2 * Math.PI); g.fill(); g.stroke();
      g.shadowBlur = 0;
      if (f > 0) {  // the expanding ring
        g.lineWidth = 2;
        g.strokeStyle = rgba(color(k), f * 0.9);
        g.beginPath(); g.arc(hitX, cy, R + 4 + 2.2 * R * (1 - f), 0, 2 * Math.PI); g.stroke();
      }
    }

    g.fillStyle = "#0a1020";  // the label column
    g.fillRect(0, 0, labelW, H);
    g.fillStyle = "rgba(148,163,184,0.18)";
    g.fillRect(labelW - 1, 0, 1, H);
    if (!S.lanes.length) {
      g.fillStyle = "#94a3b8"; g.font = "15px " + fontFamily();
      g.fillText("No events to preview yet: hunt a sound first.", hitX + 20, top + LANE_H / 2 + 5);
    }
    for (let k = 0; k < S.lanes.length; k++) {
      const y = top + k * LANE_H, since = wall - (S.flashAt[k] || -1e9);
      const f = since < FLASH_MS ? 1 - since / FLASH_MS : 0;
      g.fillStyle = color(k);
      roundRect(g, 10, y + 12, 4 + 3 * f, LANE_H - 24, 2); g.fill();
      g.fillStyle = "#e5e7eb"; g.font = "600 14px " + fontFamily();
      g.fillText(ellipsize(g, S.lanes[k].name, labelW - 34), 24, y + LANE_H / 2 - 3);
      g.fillStyle = "#94a3b8"; g.font = "12px " + fontFamily();
      g.fillText(`${S.hits[k] || 0} / ${S.lanes[k].count} hits`, 24, y + LANE_H / 2 + 14);
    }
  }

  function drawWave(p) {
    const [g, W, H] = fitCanvas(el.wave, WAVE_H);
    g.clearRect(0, 0, W, H);
    g.fillStyle = "#0a0f1f"; g.fillRect(0, 0, W, H);
    const env = (S.doc && S.doc.envelope) || { low: [], high: [] }, n = env.high.length;
    const pad = 12, w = W - 2 * pad, mid = H / 2 - 4, amp = (H / 2 - 12);
    const peak = Math.max(1e-6, ...env.high.map(Math.abs), ...env.low.map(Math.abs));
    const xp = pad + (S.duration ? p / S.duration : 0) * w;
    for (let px = 0; px < w; px++) {
      if (!n) break;
      const a = Math.floor(px / w * n), b = Math.max(a + 1, Math.floor((px + 1) / w * n));
      let lo = 0, hi = 0;
      for (let j = a; j < b && j < n; j++) { lo = Math.min(lo, env.low[j]); hi = Math.max(hi, env.high[j]); }
      const y0 = mid - (hi / peak) * amp, y1 = mid - (lo / peak) * amp;
      g.fillStyle = pad + px <= xp ? "rgba(34,211,238,0.85)" : "rgba(100,116,139,0.75)";
      g.fillRect(pad + px, y0, 1, Math.max(1, y1 - y0));
    }
    for (const e of S.events) {  // event ticks under the waveform
      const ex = pad + (e.t / (S.duration || 1)) * w;
      g.fillStyle = color(e.lane);
      g.fillRect(ex - 1, H - 9, 2, 6);
    }
    if (S.hover !== null) {
      const hx = pad + S.hover / (S.duration || 1) * w;
      g.fillStyle = "rgba(226,232,240,0.35)"; g.fillRect(hx, 4, 1, H - 8);
      g.font = "12px " + fontFamily(); g.fillStyle = "#e2e8f0";
      const label = fmt(S.hover), tw = g.measureText(label).width;
      g.fillText(label, clamp(hx + 6, 4, W - tw - 4), 15);
    }
    g.fillStyle = "#ffffff";  // the playhead
    g.fillRect(Math.round(xp) - 1, 2, 2, H - 6);
    g.beginPath(); g.moveTo(xp - 6, 2); g.lineTo(xp + 6, 2); g.lineTo(xp, 9); g.closePath(); g.fill();
  }

  let cachedFont = null;
  function fontFamily() {
    return cachedFont || (cachedFont = getComputedStyle(document.body).fontFamily || "sans-serif");
  }
  function draw() {
    const p = position(), wall = performance.now();
    drawStage(p, wall);
    drawWave(p);
    el.now.textContent = fmt(p);
  }

  // ----- data from Streamlit --------------------------------------------------------------
  function setDoc(doc) {
    S.doc = doc;
    S.lanes = doc.lanes || [];
    S.events = (doc.events || []).slice().sort((a, b) => a.t - b.t || a.lane - b.lane);
    S.duration = S.buffer ? S.buffer.duration : (doc.duration || 0);
    el.total.textContent = fmt(S.duration);
    const n = S.events.length, off = doc.offsetMs || 0;
    el.badge.textContent = "";
    const strong = document.createElement("b");
    strong.textContent = `${n} event${n === 1 ? "" : "s"}`;
    el.badge.append(strong, ` · ${S.lanes.length} sound${S.lanes.length === 1 ? "" : "s"}` +
                    ` · offset ${off > 0 ? "+" : ""}${Math.round(off)} ms`);
    el.foot.textContent = `${doc.track || "track"}` +
      (doc.tempo ? ` · ${doc.tempo.toFixed(1)} BPM (beat lines)` : "") +
      " · Space plays and pauses · click the waveform to seek · slower speeds lower the pitch";
    if (S.playing) {  // new offset or events while playing: requeue from now, keep the sound
      const now = S.ctx.currentTime;
      for (const q of S.pending) if (q.when > now) { try { q.node.stop(); } catch (e) { /* done */ } }
      S.pending = [];
      S.records = new Map();
      S.nextClick = firstAtOrAfter(posAt(now) + 1e-6);
      S.nextFlash = firstAtOrAfter(posAt(outputTime()) + 1e-6);
      countHits(posAt(outputTime()));
      schedule();
    } else {
      S.pos = clamp(S.pos, 0, S.duration);
      countHits(S.pos);
    }
    draw();
  }
  function toBytes(audio) {
    if (audio instanceof Uint8Array) return audio;
    if (audio instanceof ArrayBuffer) return new Uint8Array(audio);
    if (typeof audio === "string") return Uint8Array.from(atob(audio), (c) => c.charCodeAt(0));
    return null;
  }
  async function loadAudio(key, audio) {
    if (key === S.audioKey && (S.buffer || S.decoding)) return S.decoding;
    S.audioKey = key;
    if (S.playing) halt();
    S.buffer = null; S.pos = 0; S.ended = false;
    el.play.disabled = true;
    showOverlay("Decoding the track…");
    const bytes = toBytes(audio);
    ensureContext();
    const copy = bytes.slice().buffer;  // decodeAudioData detaches what it is given
    S.decoding = S.ctx.decodeAudioData(copy).then((buffer) => {
      if (S.audioKey !== key) return;
      S.buffer = buffer;
      S.duration = buffer.duration;
      el.play.disabled = false;
      showOverlay(null);
      if (S.doc) setDoc(S.doc);
    }, () => {
      showOverlay("This browser could not decode the track's audio (OGG Vorbis).", true);
    }).finally(() => { S.decoding = null; });
    return S.decoding;
  }
  function showOverlay(text, error) {
    el.overlay.textContent = text || "";
    el.overlay.classList.toggle("hidden", !text);
    el.overlay.classList.toggle("error", !!error);
  }
  function render(args) {
    const doc = args.doc || { lanes: [], events: [] };
    setDoc(doc);
    let loading = null;
    if (args.audio) loading = loadAudio(args.audio_key || "track", args.audio);
    resizeFrame();
    return loading || Promise.resolve();
  }

  // ----- Streamlit's component protocol ---------------------------------------------------
  const embedded = window.parent && window.parent !== window;
  function send(type, data) {
    if (embedded) window.parent.postMessage(Object.assign({ isStreamlitMessage: true, type }, data), "*");
  }
  let lastHeight = 0;
  function resizeFrame() {
    const height = Math.ceil(document.documentElement.scrollHeight);
    if (height !== lastHeight) { lastHeight = height; send("streamlit:setFrameHeight", { height }); }
  }
  window.addEventListener("message", (event) => {
    const data = event.data;
    if (data && data.type === "streamlit:render" && data.args) render(data.args);
  });

  // ----- controls ------------------------------------------------------------------------
  el.play.addEventListener("click", toggle);
  el.back.addEventListener("click", () => seek(position() - 5));
  el.forward.addEventListener("click", () => seek(position() + 5));
  for (const b of el.speeds) b.addEventListener("click", () => setSpeed(Number(b.dataset.rate)));
  el.clicks.addEventListener("change", () => { ensureContext(); setClicks(el.clicks.checked); });
  function waveTime(event) {
    const r = el.wave.getBoundingClientRect(), pad = 12;
    return clamp((event.clientX - r.left - pad) / (r.width - 2 * pad), 0, 1) * S.duration;
  }
  el.wave.addEventListener("pointerdown", (event) => {
    S.scrubbing = true; el.wave.setPointerCapture(event.pointerId);
    if (!S.playing) seek(waveTime(event));
  });
  el.wave.addEventListener("pointermove", (event) => {
    S.hover = waveTime(event);
    if (S.scrubbing && !S.playing) seek(S.hover); else if (!S.playing) draw();
  });
  el.wave.addEventListener("pointerup", (event) => {
    if (S.scrubbing && S.playing) seek(waveTime(event));
    S.scrubbing = false;
  });
  el.wave.addEventListener("pointerleave", () => { S.hover = null; if (!S.playing) draw(); });

  function typing(target) {  // keys meant for another control of the page
    if (!target || !target.tagName) return false;
    const tag = target.tagName.toLowerCase();
    if (["input", "textarea", "select", "button", "a", "summary"].includes(tag)) return true;
    const role = target.getAttribute && target.getAttribute("role");
    return !!(target.isContentEditable || (role && /button|slider|option|listbox|combobox|textbox|checkbox|switch|tab|menuitem|radio/.test(role)));
  }
  function onKey(event, own) {
    if (event.code !== "Space" && event.key !== " ") return;
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.metaKey || event.altKey) return;
    if (!own && typing(event.target)) return;
    event.preventDefault();
    toggle();
  }
  document.addEventListener("keydown", (event) => onKey(event, true));
  if (embedded) {  // space on the page around the component, too (same origin)
    try {
      const host = window.parent;
      if (typeof host.__loopfindPreviewOff === "function") host.__loopfindPreviewOff();
      const handler = (event) => onKey(event, false);
      host.document.addEventListener("keydown", handler);
      host.__loopfindPreviewOff = () => host.document.removeEventListener("keydown", handler);
      window.addEventListener("pagehide", () => { try { host.__loopfindPreviewOff(); } catch (e) { /* gone */ } });
    } catch (e) { /* another origin: space works inside the component only */ }
  }
  if (window.ResizeObserver) new ResizeObserver(() => { draw(); resizeFrame(); }).observe(el.player);
  document.addEventListener("visibilitychange", () => { if (!document.hidden && S.playing) loop(); });

  // ----- for tests and the curious --------------------------------------------------------
  window.__loopfindPreview = {
    render, play, pause, toggle, seek, setSpeed, setClicks,
    get fired() { return S.fired; },
    get events() { return S.events; },
    get buffer() { return S.buffer; },
    get context() { return S.ctx; },
    state() {
      return { playing: S.playing, ended: S.ended, position: position(), duration: S.duration,
               rate: S.rate, events: S.events.length, lanes: S.lanes.length, missed: S.missed,
               loaded: !!S.buffer, contextState: S.ctx ? S.ctx.state : null,
               sampleRate: S.ctx ? S.ctx.sampleRate : null,
               outputLatency: S.ctx ? (S.ctx.outputLatency || 0) : null,
               baseLatency: S.ctx ? (S.ctx.baseLatency || 0) : null };
    },
    clear() { S.fired = []; S.missed = 0; },
  };

  draw();
  send("streamlit:componentReady", { apiVersion: 1 });
  resizeFrame();
})();
