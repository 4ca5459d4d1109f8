/* Loopfind waveform: the whole track's waveform with a playhead; click (or drag) to hear from there.
 *
 * Data (loopfind_app/waveform_player.py): {duration, envelope: {low, high}, bars: [s],
 *   marks: [{start, end, label, color}], box}. `box` is the CSS class of the Streamlit container
 *   that holds this waveform and the st.audio element playing the track (OGG Vorbis served by
 *   Streamlit's media endpoint, so it streams): the waveform follows that element's currentTime
 *   and seeks it. No audio of its own, no iframe, no build step.
 *
 * Keys on the focused waveform: left/right move 5 s, space or enter plays and pauses.
 * The current position is mirrored in the canvas's aria-valuenow and data-time (tests read it).
 * The component may be called again with new data at any time; the same element persists.
 */

const players = new WeakMap();
const PAD = 8;
const SEEK_STEP_S = 5;

function fmt(t) {
  t = Math.max(0, t || 0);
  const m = Math.floor(t / 60), s = t - 60 * m;
  return m + ":" + (s < 10 ? "0" : "") + s.toFixed(1);
}
const clamp = (x, a, b) => Math.min(b, Math.max(a, x));

class Waveform {
  constructor(host) {
    this.host = host;
    this.canvas = host.querySelector(".lf-canvas");
    this.data = { duration: 0, envelope: { low: [], high: [] }, bars: [], marks: [], box: "" };
    this.audio = null;
    this.hover = null;
    this.dragging = false;
    this.raf = 0;
    this.onAudio = () => this.kick();
    this.handlers = {
      pointerdown: (e) => this.pointerDown(e), pointermove: (e) => this.pointerMove(e),
      pointerup: (e) => this.pointerUp(e), pointerleave: () => { this.hover = null; this.draw(); },
      keydown: (e) => this.key(e),
    };
    for (const [name, fn] of Object.entries(this.handlers)) this.canvas.addEventListener(name, fn);
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.canvas);
  }

  uninstall() {
    cancelAnimationFrame(this.raf);
    this.resize.disconnect();
    for (const [name, fn] of Object.entries(this.handlers)) this.canvas.removeEventListener(name, fn);
    this.attach(null);
  }

  receive(data) {
    this.data = Object.assign(this.data, data || {});
    this.canvas.setAttribute("aria-valuemax", String(Math.round(this.data.duration || 0)));
    this.findAudio();
    this.draw();
  }

  // ----- the st.audio element beside it ------------------------------------------------------
  findAudio() {
    if (this.audio && this.audio.isConnected) return this.audio;
    const box = this.data.box ? document.querySelector("." + CSS.escape(this.data.box)) : null;
    this.attach(box ? box.querySelector("audio") : null);
    return this.audio;
  }
  attach(audio) {
    const events = ["play", "pause", "seeked", "timeupdate", "ended", "loadedmetadata"];
    if (this.audio) for (const ev of events) this.audio.removeEventListener(ev, this.onAudio);
    this.audio = audio;
    if (audio) for (const ev of events) audio.addEventListener(ev, this.onAudio);
  }
  position() {
    const a = this.findAudio();
    return a ? a.currentTime || 0 : 0;
  }
  duration() {
    const a = this.audio;
    return this.data.duration || (a && isFinite(a.duration) ? a.duration : 0);
  }
  playing() { return !!(this.audio && !this.audio.paused && !this.audio.ended); }
  kick() {  // follow the audio: a frame loop while it plays, one frame otherwise
    cancelAnimationFrame(this.raf);
    const frame = () => {
      this.draw();
      if (this.playing()) this.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
  }

  seek(t, play) {
    const a = this.findAudio();
    if (!a) return;
    a.currentTime = clamp(t, 0, Math.max(0, this.duration() - 0.05));
    if (play && a.paused) {
      const started = a.play();
      if (started && started.catch) started.catch(() => {});  // autoplay refused: stays paused
    }
    this.kick();
  }

  // ----- input ---------------------------------------------------------------------------------
  timeAt(event) {
    const r = this.canvas.getBoundingClientRect();
    return clamp((event.clientX - r.left - PAD) / Math.max(1, r.width - 2 * PAD), 0, 1) * this.duration();
  }
  pointerDown(event) {
    if (event.button !== 0) return;
    this.dragging = true;
    this.canvas.setPointerCapture(event.pointerId);
    this.canvas.focus({ preventScroll: true });
    this.seek(this.timeAt(event), true);
  }
  pointerMove(event) {
    this.hover = this.timeAt(event);
    if (this.dragging) this.seek(this.hover, false);
    else this.draw();
  }
  pointerUp(event) {
    if (this.dragging) this.seek(this.timeAt(event), true);
    this.dragging = false;
  }
  key(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      const step = event.key === "ArrowLeft" ? -SEEK_STEP_S : SEEK_STEP_S;
      this.seek(this.position() + step, false);
    } else if (event.key === " " || event.key === "Enter") {
      const a = this.findAudio();
      if (!a) return;
      if (a.paused) this.seek(this.position(), true); else a.pause();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  // ----- drawing -------------------------------------------------------------------------------
  colors() {
    const style = getComputedStyle(this.canvas);
    const v = (name, fallback) => (style.getPropertyValue(name) || "").trim() || fallback;
    return { text: v("--st-text-color", "#31333f"), primary: v("--st-primary-color", "#ff4b4b") };
  }
  draw() {
    const c = this.canvas, dpr = window.devicePixelRatio || 1;
    const W = c.clientWidth || 600, H = c.clientHeight || 104;
    if (c.width !== Math.round(W * dpr) || c.height !== Math.round(H * dpr)) {
      c.width = Math.round(W * dpr); c.height = Math.round(H * dpr);
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    const { text } = this.colors();
    const d = this.duration(), w = W - 2 * PAD, top = 16, mid = top + (H - top - 6) / 2;
    const amp = (H - top - 10) / 2;
    const x = (t) => PAD + (d ? t / d : 0) * w;
    const p = this.position();

    g.fillStyle = "rgba(128,128,128,0.22)";  // bars
    for (const b of this.data.bars || []) g.fillRect(Math.round(x(b)), top, 1, H - top - 4);

    g.font = "12px " + (getComputedStyle(this.canvas).fontFamily || "sans-serif");
    const now = fmt(p) + " / " + fmt(d), nw = g.measureText(now).width;
    for (const m of this.data.marks || []) {  // marked windows (the selection)
      const x0 = x(m.start), x1 = Math.max(x0 + 2, x(m.end));
      g.fillStyle = m.color || "#4C78A8";
      g.globalAlpha = 0.28; g.fillRect(x0, top - 2, x1 - x0, H - top);
      g.globalAlpha = 1; g.fillRect(x0, top - 2, 1.5, H - top); g.fillRect(x1 - 1.5, top - 2, 1.5, H - top);
      if (m.label) {  // right of the mark, or left of it where the clock is
        const lw = g.measureText(m.label).width;
        const lx = x1 + 4 + lw > W - nw - 2 * PAD ? x0 - lw - 4 : x1 + 4;
        g.fillStyle = text; g.fillText(m.label, Math.max(2, lx), 12);
      }
    }

    const env = this.data.envelope || { low: [], high: [] }, n = (env.high || []).length;
    let peak = 1e-6;
    for (let i = 0; i < n; i++) peak = Math.max(peak, Math.abs(env.high[i]), Math.abs(env.low[i]));
    const xp = x(p);
    for (let px = 0; px < w && n; px++) {
      const a = Math.floor(px / w * n), b = Math.max(a + 1, Math.floor((px + 1) / w * n));
      let lo = 0, hi = 0;
      for (let j = a; j < b && j < n; j++) { lo = Math.min(lo, env.low[j]); hi = Math.max(hi, env.high[j]); }
      const y0 = mid - (hi / peak) * amp, y1 = mid - (lo / peak) * amp;
      g.fillStyle = PAD + px <= xp ? "#3A6FD8" : "rgba(91,141,239,0.55)";
      g.fillRect(PAD + px, y0, 1, Math.max(1, y1 - y0));
    }

    if (this.hover !== null) {  // where a click would start
      const hx = x(this.hover);
      g.fillStyle = text; g.globalAlpha = 0.45; g.fillRect(hx, top, 1, H - top - 4); g.globalAlpha = 1;
      const label = fmt(this.hover), tw = g.measureText(label).width;
      g.fillText(label, clamp(hx + 5, 2, W - tw - 2), H - 6);
    }
    g.fillStyle = text;  // the playhead
    g.fillRect(Math.round(xp) - 1, top - 4, 2, H - top);
    g.beginPath(); g.moveTo(xp - 5, top - 6); g.lineTo(xp + 5, top - 6); g.lineTo(xp, top); g.closePath(); g.fill();
    g.globalAlpha = 0.8; g.fillText(now, W - nw - PAD, 12); g.globalAlpha = 1;
    c.dataset.time = p.toFixed(2);
    c.dataset.playing = this.playing() ? "1" : "0";
    c.setAttribute("aria-valuenow", String(Math.round(p)));
    c.setAttribute("aria-valuetext", fmt(p));
  }
}

export default function (component) {
  const { data, parentElement } = component;
  let player = players.get(parentElement);
  if (!player) {
    player = new Waveform(parentElement);
    players.set(parentElement, player);
  }
  player.receive(data);
  return () => { player.uninstall(); players.delete(parentElement); };
}
