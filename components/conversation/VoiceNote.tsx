"use client";
// A voice note: play / pause, position, the waveform made when it was recorded, and 1× / 1.5× / 2×.
// My own shows "Listened" once the other side played it (read receipts on); theirs tells the engine
// when I first play it.
import { Headphones, Pause, Play } from "lucide-react";
import { useEffect, useId, useRef, useState } from "react";
import { useObjectUrl } from "./useObjectUrl";

const SPEEDS = [1, 1.5, 2] as const;

function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

interface Props {
  blob: Blob | null;
  durationMs: number;
  waveform: number[];
  metaClass: string;
  /** Mine, played by the other side: shows "Listened". */
  listened?: boolean;
  /** Theirs, not played yet: called on its first play. */
  onFirstPlay?: () => void;
}

export function VoiceNote({ blob, durationMs, waveform, metaClass, listened = false, onFirstPlay }: Props) {
  const url = useObjectUrl(blob);
  const audio = useRef<HTMLAudioElement>(null);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [speed, setSpeed] = useState<(typeof SPEEDS)[number]>(1);
  const speedId = useId();

  useEffect(() => {
    if (audio.current) audio.current.playbackRate = speed;
  }, [speed, url]);

  const progress = durationMs > 0 ? Math.min(1, position / durationMs) : 0;
  return (
    <div className="flex items-center gap-2">
      <button
        type="button"
        aria-label={playing ? "Pause voice message" : "Play voice message"}
        disabled={!url}
        onClick={() => {
          const a = audio.current;
          if (!a) return;
          if (a.paused) void a.play().catch(() => setPlaying(false));
          else a.pause();
        }}
        className="rounded-full bg-sky-700 p-2 text-white hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:opacity-50"
      >
        {playing ? <Pause aria-hidden="true" className="h-4 w-4" /> : <Play aria-hidden="true" className="h-4 w-4" />}
      </button>
      <div aria-hidden="true" className="flex h-8 items-center gap-px">
        {(waveform.length ? waveform : new Array(30).fill(4)).map((v, i, all) => (
          <span key={i} className={`w-1 rounded-full ${i / all.length <= progress && position > 0 ? "bg-sky-600 dark:bg-sky-300" : "bg-current opacity-40"}`} style={{ height: `${Math.max(8, ((v + 1) / 32) * 100)}%` }} />
        ))}
      </div>
      <span className={`text-xs tabular-nums ${metaClass}`}>{clock(playing || position > 0 ? position : durationMs)}</span>
      <label htmlFor={speedId} className="sr-only">
        Playback speed
      </label>
      <select
        id={speedId}
        value={speed}
        onChange={(e) => setSpeed(Number(e.target.value) as (typeof SPEEDS)[number])}
        className="rounded-full border border-current/30 bg-transparent px-1 text-xs dark:bg-slate-800"
      >
        {SPEEDS.map((s) => (
          <option key={s} value={s}>{`${s}×`}</option>
        ))}
      </select>
      {listened ? (
        <span className={`inline-flex items-center gap-0.5 text-xs ${metaClass}`} title="Listened">
          <Headphones aria-hidden="true" className="h-3.5 w-3.5" />
          Listened
        </span>
      ) : null}
      {url ? (
        <audio
          ref={audio}
          src={url}
          preload="metadata"
          onPlay={() => {
            setPlaying(true);
            onFirstPlay?.();
          }}
          onPause={() => setPlaying(false)}
          onEnded={() => {
            setPlaying(false);
            setPosition(0);
          }}
          onTimeUpdate={(e) => setPosition(e.currentTarget.currentTime * 1000)}
        />
      ) : null}
    </div>
  );
}
