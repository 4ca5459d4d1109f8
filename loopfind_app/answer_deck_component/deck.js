/* Loopfind answer deck: the candidate card answers at once; the server catches up behind it.
 *
 * Data (from loopfind_app/answer_deck.py, on every run of the hunt panel):
 *   {hunt, rev, applied, hint, picture, now}
 *   now = {answers, own, found, candidate, yes, no, back}: the state of the hunt on the server,
 *   with the states after a yes, a no and an undo computed ahead (each {answers, own, found,
 *   candidate} without branches of its own). answers counts every recorded answer (the queue's
 *   check); own, the user's own (automatic acceptances aside): the candidate's number is
 *   own + 1. candidate = {frame, number, at, chance, clip (a WAV data URL), clip_id, lead
 *   (seconds of clip before the window), note}, or null: the hunt is over.
 *
 * The trail. The deck shows the last state of `trail`. An answer pushes the prepared branch
 * (its audio element was loaded ahead: it is playable at once), Done pushes a finished state,
 * Undo pops. A press on a state whose branches have not arrived yet (two answers faster than a
 * rerun) pushes a "loading" state, which the next data resolves.
 *
 * The queue. Each press becomes an action {seq, act, hunt, frame, answers, sent}, kept until
 * the server acknowledges its seq (data.applied), and the whole queue is sent as the
 * component's state, so a rerun that starts before the last press still gets every one; the
 * server applies each seq once, in order, and skips one whose candidate is not pending there.
 * When the data arrives the queue left is replayed over it; with an empty queue the trail
 * becomes the server's state. Data with a new `boot` (a restarted server, whose hunt keeps its
 * token) gets the queue sent again at once: answers given while the server was down are
 * applied there, not dropped.
 *
 * Keys Y, N, U, D act when focus is not in a text field. User text (track names) is only ever
 * set as textContent. The component may be called again with new data at any time (the same
 * element persists), and an older call may land after a newer one: `rev` orders them.
 */

const decks = new WeakMap();
const KEYS = { y: "yes", n: "no", u: "undo", d: "done" };
const TEXT_INPUTS = /^(text|search|email|url|tel|password|number|date|time|datetime-local|month|week)$/;

function isTextField(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag === "INPUT") return TEXT_INPUTS.test(target.type || "text");
  const role = target.getAttribute("role");
  return role === "textbox" || role === "combobox" || role === "searchbox";
}

const sameState = (a, b) => !!a && !!b && a.answers === b.answers && !!a.loading === !!b.loading
  && (a.candidate ? a.candidate.frame : null) === (b.candidate ? b.candidate.frame : null);

class Deck {
  constructor(host) {
    const root = host.querySelector(".lf-deck");
    this.root = root;
    this.el = {
      title: root.querySelector(".lf-title"), where: root.querySelector(".lf-where"),
      chance: root.querySelector(".lf-chance"), hint: root.querySelector(".lf-hint"),
      clips: root.querySelector(".lf-clips"), lead: root.querySelector(".lf-lead"),
      leadText: root.querySelector(".lf-lead-text"),
      note: root.querySelector(".lf-note"),
      buttons: Object.fromEntries(Array.from(root.querySelectorAll(".lf-answer"))
        .map((b) => [b.dataset.act, b])),
    };
    this.hunt = null;
    this.boot = null;
    this.rev = -1;
    this.seq = 0;
    this.queue = [];
    this.trail = [];
    this.hint = "";
    this.picture = "";
    this.pictureFrame = null; // the frame whose picture is named "Candidate picture"
    this.pictureWatch = null;
    this.audio = new Map(); // clip_id -> <audio>
    this.shownKey = null;
    this.send = null;
    this.onKey = (event) => this.key(event);
    for (const [act, button] of Object.entries(this.el.buttons)) {
      button.addEventListener("click", () => this.act(act));
    }
    this.el.lead.addEventListener("click", () => {
      const audio = this.currentAudio();
      if (audio) { audio.currentTime = 0; audio.play().catch(() => {}); }
    });
    this.installed = false;
  }

  install() {
    if (!this.installed) document.addEventListener("keydown", this.onKey);
    this.installed = true;
    if (!this.pictureWatch) {
      // The panel's rerun draws (or redraws) the pictures after the deck: name the shown
      // candidate's whenever the page's elements change.
      this.pictureWatch = new MutationObserver(() => this.namePicture());
      this.pictureWatch.observe(document.body, { childList: true, subtree: true });
    }
  }

  uninstall() {
    document.removeEventListener("keydown", this.onKey);
    this.installed = false;
    if (this.pictureWatch) this.pictureWatch.disconnect();
    this.pictureWatch = null;
  }

  key(event) {
    if (event.defaultPrevented || event.repeat || event.ctrlKey || event.metaKey || event.altKey)
      return;
    const act = KEYS[(event.key || "").toLowerCase()];
    if (!act || isTextField(event.target) || !this.root.isConnected) return;
    event.preventDefault();
    this.act(act);
  }

  shown() { return this.trail[this.trail.length - 1] || null; }

  // ----- a press ---------------------------------------------------------------------------
  act(act) {
    const state = this.shown();
    if (!state || !this.allowed(act, state)) return;
    const action = { seq: ++this.seq, act, hunt: this.hunt, answers: state.answers,
                     frame: state.candidate ? state.candidate.frame : null, sent: Date.now() };
    this.queue.push(action);
    this.trail = step(this.trail, action);
    this.render(true);
    this.flush();
  }

  allowed(act, state) {
    const waiting = !!state.candidate && !state.loading;
    if (act === "undo") return this.trail.length > 1 || !!state.back;
    return waiting;
  }

  flush() {
    if (this.send) this.send("actions", { hunt: this.hunt, list: this.queue });
  }

  // ----- data from the server ----------------------------------------------------------------
  receive(data) {
    if (!data || !data.now) return;
    if (data.hunt === this.hunt && data.rev <= this.rev) return; // an older call landing late
    if (data.hunt !== this.hunt) {
      this.hunt = data.hunt;
      this.queue = [];
      this.seq = 0;
    }
    const rebooted = data.boot !== this.boot; // a restarted server: it has not seen the queue
    this.boot = data.boot;
    this.rev = data.rev;
    this.hint = data.hint || "";
    this.picture = data.picture || "";
    this.seq = Math.max(this.seq, data.applied);
    this.queue = this.queue.filter((a) => a.seq > data.applied);
    let trail = [data.now];
    for (const action of this.queue) trail = trail && step(trail, action, true);
    const shown = this.shown();
    if (trail) this.trail = trail;
    else if (!shown) this.trail = [data.now];
    // else: the server went another way than the queue (another tab, a restarted hunt): keep
    // the card until the server has consumed the queue, then show its state.
    this.render(!sameState(shown, this.shown()));
    if (rebooted && this.queue.length) this.flush();
  }

  // ----- drawing ---------------------------------------------------------------------------
  render(play) {
    const state = this.shown();
    if (!state) return;
    const c = state.candidate;
    this.root.dataset.state = state.loading ? "loading" : c ? "candidate" : "finished";
    this.root.dataset.pending = String(this.queue.length);
    if (state.loading) {
      this.el.title.textContent = `Candidate ${(state.own ?? state.answers) + 1}`;
      this.el.where.textContent = " · loading…";
      this.el.chance.textContent = "";
    } else if (c) {
      this.el.title.textContent = `Candidate ${c.number}`;
      this.el.where.textContent = ` · ${c.at}`;
      this.el.chance.textContent = ` · chance ${Math.round(100 * c.chance)}%`;
    } else {
      this.el.title.textContent = "Hunt finished";
      this.el.where.textContent = ` · ${1 + state.found} occurrences marked`;
      this.el.chance.textContent = "";
    }
    this.el.hint.textContent = !c && !state.loading ? this.hint : "";
    this.el.hint.hidden = !this.el.hint.textContent;
    this.el.note.textContent = c && c.note ? c.note : "";
    this.el.note.hidden = !this.el.note.textContent;
    for (const [act, button] of Object.entries(this.el.buttons)) {
      button.disabled = !this.allowed(act, state);
    }
    this.showAudio(c, play);
    this.prepare();
    this.pictureFrame = c && !state.loading ? c.frame : null;
    this.dimPictures(this.pictureFrame);
    this.namePicture();
  }

  /** The shown candidate's picture is an image named "Candidate picture" (role img), like the
   * buttons beside it have their names; no other picture has that name. */
  namePicture() {
    if (!this.picture) return;
    const frame = this.pictureFrame;
    const want = frame === null || frame === undefined ? null
      : document.querySelector(`.${CSS.escape(this.picture + frame)}`);
    for (const el of document.querySelectorAll("[data-lf-picture]")) {
      if (el === want) continue;
      el.removeAttribute("role");
      el.removeAttribute("aria-label");
      el.removeAttribute("data-lf-picture");
    }
    if (want && !want.hasAttribute("data-lf-picture")) {
      want.setAttribute("role", "img");
      want.setAttribute("aria-label", "Candidate picture");
      want.setAttribute("data-lf-picture", "");
    }
  }

  /** Dim every candidate picture the panel drew but the one of `frame` (a style rule, so it
   * also holds for pictures the next rerun draws). */
  dimPictures(frame) {
    if (!this.picture) return;
    if (!this.pictureStyle) {
      this.pictureStyle = document.createElement("style");
      this.root.appendChild(this.pictureStyle);
    }
    const prefix = CSS.escape(this.picture);
    const keep = frame === null ? "" : `.${prefix}${frame} { opacity: 1; }`;
    this.pictureStyle.textContent =
      `[class*="${this.picture}"] { opacity: 0.35; transition: opacity 0.1s; } ${keep}`;
  }

  currentAudio() {
    const c = this.shown() && this.shown().candidate;
    return c && c.clip ? this.audio.get(c.clip_id) || null : null;
  }

  audioFor(card) {
    let audio = this.audio.get(card.clip_id);
    if (!audio) {
      audio = document.createElement("audio");
      audio.controls = true;
      audio.preload = "auto";
      audio.hidden = true;
      audio.className = "lf-audio";
      audio.dataset.clip = card.clip_id;
      const lead = card.lead || 0;
      audio.addEventListener("loadedmetadata", () => { audio.currentTime = lead; }, { once: true });
      audio.src = card.clip;
      this.el.clips.appendChild(audio);
      this.audio.set(card.clip_id, audio);
    }
    return audio;
  }

  showAudio(card, play) {
    const key = card ? `${card.clip_id}#${card.number}` : null;
    const changed = key !== this.shownKey;
    this.shownKey = key;
    let current = null;
    if (card && card.clip) {
      current = this.audioFor(card);
      current.setAttribute("aria-label", `Candidate ${card.number} at ${card.at}`);
    }
    for (const audio of this.audio.values()) {
      if (audio === current) continue;
      if (!audio.hidden) {
        audio.hidden = true;
        audio.pause();
      }
    }
    this.el.lead.hidden = !current || !(card.lead > 0.05);
    if (!this.el.lead.hidden) {
      const s = card.lead >= 0.95 ? "1 s" : `${card.lead.toFixed(1)} s`;
      this.el.leadText.textContent = ` ${s} before`;
      this.el.lead.setAttribute("aria-label", `Play from ${s} before`);
    }
    if (!current) return;
    current.hidden = false;
    if (changed) {
      if (current.readyState >= 1 && Math.abs(current.currentTime - card.lead) > 0.01) {
        current.currentTime = card.lead;
      }
      if (play) current.play().catch(() => {});
    }
  }

  /** Load the audio of every state one press away; drop the rest. */
  prepare() {
    const state = this.shown();
    const keep = new Set();
    const near = [state];
    if (state) near.push(state.yes, state.no, state.back);
    for (const s of this.trail) near.push(s);
    for (const s of near) {
      const c = s && s.candidate;
      if (c && c.clip) {
        this.audioFor(c);
        keep.add(c.clip_id);
      }
    }
    for (const [id, audio] of this.audio) {
      if (keep.has(id)) continue;
      audio.pause();
      audio.removeAttribute("src");
      audio.load();
      audio.remove();
      this.audio.delete(id);
    }
  }
}

/** The trail after `action`; null when it does not apply to the state shown (replaying). */
function step(trail, action, strict = false) {
  const state = trail[trail.length - 1];
  const fits = state.answers === action.answers && (action.act === "undo"
    || (!state.loading && state.candidate && state.candidate.frame === action.frame));
  if (!fits) return strict ? null : trail;
  if (action.act === "undo") {
    if (trail.length > 1) return trail.slice(0, -1);
    if (state.back) return [state.back];
    return strict ? null : [{ loading: true, answers: Math.max(0, state.answers - 1),
                              own: Math.max(0, (state.own ?? state.answers) - 1),
                              found: state.found, candidate: null }];
  }
  if (action.act === "done") {
    return [...trail, { answers: state.answers, own: state.own, found: state.found,
                        candidate: null }];
  }
  const next = state[action.act] || {
    loading: true, answers: state.answers + 1, own: (state.own ?? state.answers) + 1,
    found: state.found + (action.act === "yes" ? 1 : 0), candidate: null,
  };
  return [...trail, next];
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let deck = decks.get(parentElement);
  if (!deck) {
    deck = new Deck(parentElement);
    decks.set(parentElement, deck);
  }
  deck.send = setStateValue;
  deck.install();
  deck.receive(data);
  return () => deck.uninstall();
}
