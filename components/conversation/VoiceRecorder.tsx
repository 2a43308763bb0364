"use client";
// Recording a voice note: MediaRecorder (Opus in WebM, or Ogg), a waveform sampled while recording (so
// the receiver draws it without decoding the audio), Stop / Cancel, then Send. Or, as on a phone: hold the
// button to record, release to send, slide left while holding to cancel. The recording is handed to the
// worker as a Blob; it is never sent before "Send voice message", or a hold's release.
import { Mic, Send, Square, Trash2 } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { describeError, sendVoiceNote } from "@/lib/hooks/actions";

/** Bars in the waveform that travels with the note (the content allows at most 100, levels 0–31). */
const BARS = 60;
const MAX_RECORDING_MS = 15 * 60_000;
/** A press on the record button held this long records while it lasts (a shorter one is a click). */
const HOLD_MS = 300;
/** How far left a held press slides to cancel the recording (CSS pixels). */
const SLIDE_CANCEL_PX = 80;

function pickType(): string | undefined {
  if (typeof MediaRecorder === "undefined") return undefined;
  return ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t));
}

/** Levels sampled over the recording, squeezed into BARS bars of 0–31. */
export function waveformOf(levels: number[]): number[] {
  if (levels.length === 0) return [];
  const bars = Math.min(BARS, levels.length);
  const out: number[] = [];
  const peak = Math.max(...levels, 1e-6);
  for (let i = 0; i < bars; i++) {
    const from = Math.floor((i * levels.length) / bars);
    const to = Math.max(from + 1, Math.floor(((i + 1) * levels.length) / bars));
    const slice = levels.slice(from, to);
    const v = slice.reduce((a, b) => a + b, 0) / slice.length;
    out.push(Math.max(0, Math.min(31, Math.round((v / peak) * 31))));
  }
  return out;
}

/**
 * A press on the record button while it lasts: where it began, whether it became a hold (HOLD_MS), and how
 * it ended (released: the recording goes; slid away: it is dropped), and how to stop listening to it.
 */
interface Press {
  x: number;
  held: boolean;
  ended: "released" | "slid" | null;
  unlisten(): void;
}

type Phase = { kind: "idle" } | { kind: "recording"; startedAt: number } | { kind: "recorded"; blob: Blob; durationMs: number; waveform: number[] };

export function VoiceRecorder({ conversationId, onActive, onError }: { conversationId: string; onActive: (active: boolean) => void; onError: (e: string | null) => void }) {
  const [phase, setPhase] = useState<Phase>({ kind: "idle" });
  const [elapsed, setElapsed] = useState(0);
  const recorder = useRef<MediaRecorder | null>(null);
  const stream = useRef<MediaStream | null>(null);
  const audio = useRef<AudioContext | null>(null);
  const levels = useRef<number[]>([]);
  const timer = useRef<number | null>(null);
  const discard = useRef(false);
  /** A recording that goes as soon as it stops (a hold released). */
  const sendOnStop = useRef(false);
  /** The press on the record button, while it lasts: where it began, and whether it became a hold. */
  const press = useRef<Press | null>(null);
  const [holding, setHolding] = useState(false);

  function release() {
    if (timer.current !== null) window.clearInterval(timer.current);
    timer.current = null;
    stream.current?.getTracks().forEach((t) => t.stop());
    stream.current = null;
    void audio.current?.close().catch(() => undefined);
    audio.current = null;
  }

  useEffect(() => () => {
    discard.current = true;
    press.current?.unlisten();
    if (recorder.current?.state === "recording") recorder.current.stop();
    release();
  }, []);

  async function start() {
    onError(null);
    const type = pickType();
    if (!navigator.mediaDevices?.getUserMedia || type === undefined) {
      onError("This browser cannot record audio.");
      return;
    }
    try {
      const media = await navigator.mediaDevices.getUserMedia({ audio: true });
      stream.current = media;
      if (press.current?.ended === "slid") {
        // slid away while the microphone was being opened: nothing is recorded
        press.current = null;
        setHolding(false);
        release();
        return;
      }
      const ctx = new AudioContext();
      audio.current = ctx;
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 1024;
      ctx.createMediaStreamSource(media).connect(analyser);
      const buf = new Float32Array(analyser.fftSize);
      levels.current = [];
      const rec = new MediaRecorder(media, { mimeType: type });
      const chunks: Blob[] = [];
      const startedAt = Date.now();
      discard.current = false;
      rec.ondataavailable = (e) => {
        if (e.data.size > 0) chunks.push(e.data);
      };
      rec.onstop = () => {
        const durationMs = Date.now() - startedAt;
        release();
        setHolding(false);
        if (discard.current) {
          setPhase({ kind: "idle" });
          onActive(false);
          return;
        }
        const recorded = { blob: new Blob(chunks, { type: rec.mimeType || type }), durationMs, waveform: waveformOf(levels.current) };
        if (sendOnStop.current) void send(recorded);
        else setPhase({ kind: "recorded", ...recorded });
      };
      recorder.current = rec;
      rec.start(250);
      timer.current = window.setInterval(() => {
        analyser.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        levels.current.push(Math.sqrt(sum / buf.length));
        const ms = Date.now() - startedAt;
        setElapsed(ms);
        if (ms >= MAX_RECORDING_MS) stop();
      }, 100);
      setElapsed(0);
      setPhase({ kind: "recording", startedAt });
      onActive(true);
      // a hold released while the microphone was being opened: what was recorded of it goes
      if (press.current?.ended === "released") endHold();
    } catch (err) {
      press.current = null;
      setHolding(false);
      release();
      onError(err instanceof DOMException && err.name === "NotAllowedError" ? "Junction may not use the microphone." : "The microphone could not be used.");
    }
  }

  function stop() {
    if (recorder.current?.state === "recording") recorder.current.stop();
  }

  function cancel() {
    discard.current = true;
    sendOnStop.current = false;
    if (recorder.current?.state === "recording") recorder.current.stop();
    else {
      setPhase({ kind: "idle" });
      onActive(false);
    }
  }

  async function send(recorded: { blob: Blob; durationMs: number; waveform: number[] } | null = phase.kind === "recorded" ? phase : null) {
    if (!recorded) return;
    const { blob, durationMs, waveform } = recorded;
    sendOnStop.current = false;
    setPhase({ kind: "idle" });
    onActive(false);
    try {
      await sendVoiceNote(conversationId, blob, durationMs, waveform);
    } catch (err) {
      onError(describeError(err));
      setPhase({ kind: "recorded", blob, durationMs, waveform });
      onActive(true);
    }
  }

  /** The click the end of a hold may make (on whatever is under the pointer then) is not one. */
  function swallowClick() {
    const swallow = (e: MouseEvent) => {
      e.stopPropagation();
      e.preventDefault();
    };
    window.addEventListener("click", swallow, { capture: true, once: true });
    window.setTimeout(() => window.removeEventListener("click", swallow, { capture: true }), 0);
  }

  /** A hold released: its recording stops and goes. */
  function endHold() {
    press.current = null;
    swallowClick();
    if (recorder.current?.state !== "recording") {
      setHolding(false);
      return;
    }
    sendOnStop.current = true;
    stop();
  }

  /** A press on the record button: a click if it ends within HOLD_MS, else a hold that records while it lasts. */
  function onPressStart(event: React.PointerEvent<HTMLButtonElement>) {
    if (event.button !== 0 || press.current) return;
    const p: Press = { x: event.clientX, held: false, ended: null, unlisten: () => undefined };
    const onMove = (e: PointerEvent) => {
      if (!p.held || p.ended || p.x - e.clientX < SLIDE_CANCEL_PX) return;
      p.ended = "slid";
      p.unlisten();
      window.addEventListener("pointerup", swallowClick, { once: true });
      // the recording is dropped (or, still starting, never begins); the release does nothing
      if (recorder.current?.state === "recording") {
        press.current = null;
        cancel();
      }
    };
    const onUp = () => {
      if (p.ended) return;
      p.ended = "released";
      p.unlisten();
      if (!p.held) {
        // a click: onClick starts the recording, as from the keyboard
        press.current = null;
      } else if (recorder.current?.state === "recording") endHold();
      // else: start() sends what it records once the microphone is open
    };
    const wait = window.setTimeout(() => {
      if (p.ended) return;
      p.held = true;
      setHolding(true);
      void start();
    }, HOLD_MS);
    p.unlisten = () => {
      window.clearTimeout(wait);
      window.removeEventListener("pointermove", onMove);
      window.removeEventListener("pointerup", onUp);
      window.removeEventListener("pointercancel", onUp);
    };
    press.current = p;
    window.addEventListener("pointermove", onMove);
    window.addEventListener("pointerup", onUp);
    window.addEventListener("pointercancel", onUp);
  }

  const ROUND = "flex h-10 w-10 shrink-0 items-center justify-center rounded-full focus-visible:outline-2 focus-visible:outline-sky-600";
  if (phase.kind === "idle") {
    return (
      <button
        type="button"
        aria-label="Record voice message"
        title="Click to record, or hold to record and release to send"
        onPointerDown={onPressStart}
        onClick={() => {
          // the end of a hold is not a click
          if (!press.current?.held) void start();
        }}
        onContextMenu={(e) => e.preventDefault()}
        className={`${ROUND} touch-none select-none text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800`}
      >
        <Mic aria-hidden="true" className="h-5 w-5" />
      </button>
    );
  }
  const seconds = Math.round((phase.kind === "recorded" ? phase.durationMs : elapsed) / 1000);
  return (
    <div className="flex flex-1 items-center gap-2">
      <button type="button" aria-label="Cancel recording" onClick={cancel} className={`${ROUND} text-red-700 hover:bg-red-50 dark:text-red-300 dark:hover:bg-red-950`}>
        <Trash2 aria-hidden="true" className="h-5 w-5" />
      </button>
      <p role="status" className="flex-1 text-sm tabular-nums text-slate-700 dark:text-slate-200">
        {phase.kind === "recording" ? "Recording" : "Voice message"} {`${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`}
        {holding && phase.kind === "recording" ? <span className="ml-2 text-slate-500 dark:text-slate-400">Release to send, slide left to cancel</span> : null}
      </p>
      {phase.kind === "recording" ? (
        <button type="button" aria-label="Stop recording" onClick={stop} className={`${ROUND} bg-red-600 text-white hover:bg-red-700`}>
          <Square aria-hidden="true" className="h-4 w-4" />
        </button>
      ) : (
        <button type="button" aria-label="Send voice message" onClick={() => void send()} className={`${ROUND} bg-sky-700 text-white hover:bg-sky-800`}>
          <Send aria-hidden="true" className="h-4 w-4" />
        </button>
      )}
    </div>
  );
}
