"use client";
// Recording a voice note: MediaRecorder (Opus in WebM, or Ogg), a waveform sampled while recording (so
// the receiver draws it without decoding the audio), Stop / Cancel, then Send. The recording is handed
// to the worker as a Blob; it is never sent before "Send voice message".
import { Mic, Send, Square, Trash2 } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { describeError, sendVoiceNote } from "@/lib/hooks/actions";

/** Bars in the waveform that travels with the note (the content allows at most 100, levels 0–31). */
const BARS = 60;
const MAX_RECORDING_MS = 15 * 60_000;

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
        if (discard.current) {
          setPhase({ kind: "idle" });
          onActive(false);
          return;
        }
        setPhase({ kind: "recorded", blob: new Blob(chunks, { type: rec.mimeType || type }), durationMs, waveform: waveformOf(levels.current) });
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
    } catch (err) {
      release();
      onError(err instanceof DOMException && err.name === "NotAllowedError" ? "Junction may not use the microphone." : "The microphone could not be used.");
    }
  }

  function stop() {
    if (recorder.current?.state === "recording") recorder.current.stop();
  }

  function cancel() {
    discard.current = true;
    if (recorder.current?.state === "recording") recorder.current.stop();
    else {
      setPhase({ kind: "idle" });
      onActive(false);
    }
  }

  async function send() {
    if (phase.kind !== "recorded") return;
    const { blob, durationMs, waveform } = phase;
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

  const ROUND = "flex h-10 w-10 shrink-0 items-center justify-center rounded-full focus-visible:outline-2 focus-visible:outline-sky-600";
  if (phase.kind === "idle") {
    return (
      <button type="button" aria-label="Record voice message" onClick={() => void start()} className={`${ROUND} text-slate-700 hover:bg-slate-100 dark:text-slate-200 dark:hover:bg-slate-800`}>
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
