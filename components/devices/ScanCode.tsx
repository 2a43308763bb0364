"use client";
// "Scan with camera" for the link code: the camera (the one facing away, where there are two) plays in the
// dialog, and frames are decoded on a small canvas at most 5 times a second, by the browser's
// BarcodeDetector where it reads QR codes, otherwise by jsQR (loaded only then). The first code read is
// handed on as if it had been pasted. The camera's tracks are stopped on "Stop camera", on success, on
// failure, when the page is hidden (another tab, a minimised window) and when the scanner unmounts (the
// dialog closes, the form goes), so the camera light goes out.
import { useEffect, useRef, useState } from "react";

/** Time between two decodes: at most 5 frames a second, so scanning never takes a core. */
const SCAN_INTERVAL_MS = 200;
/** The side of the square canvas a frame is decoded on: a link code filling half the picture still has
 *  modules several pixels wide, and jsQR takes 3–10 ms on it (bench:scan), 0.15–0.3× a whole 720p frame. */
const SCAN_SIZE = 400;

type Decode = (canvas: HTMLCanvasElement, context: CanvasRenderingContext2D) => Promise<string | null>;

// Not yet in TypeScript's DOM types.
interface BarcodeDetectorClass {
  new (options: { formats: string[] }): { detect(source: CanvasImageSource): Promise<{ rawValue: string }[]> };
  getSupportedFormats(): Promise<string[]>;
}

async function makeDecoder(): Promise<Decode> {
  const Detector = Reflect.get(globalThis, "BarcodeDetector") as BarcodeDetectorClass | undefined;
  const formats = Detector ? await Detector.getSupportedFormats().catch(() => []) : [];
  if (Detector && formats.includes("qr_code")) {
    const detector = new Detector({ formats: ["qr_code"] });
    return async (canvas) => (await detector.detect(canvas))[0]?.rawValue || null;
  }
  const { default: jsQR } = await import("jsqr");
  return async (canvas, context) => {
    const { data, width, height } = context.getImageData(0, 0, canvas.width, canvas.height);
    // the code is shown dark on light on the new device, so inverted pictures need not be tried
    return jsQR(data, width, height, { inversionAttempts: "dontInvert" })?.data || null;
  };
}

/** What a person is told when the camera cannot be had; the pasted code works in every case. */
function cameraError(error: unknown): string {
  const name = error instanceof DOMException ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return "Junction may not use the camera. Paste the code instead.";
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotSupportedError") return "No camera was found. Paste the code instead.";
  if (name === "NotReadableError") return "The camera is in use by another app. Paste the code instead.";
  return "The camera could not be used. Paste the code instead.";
}

/** Draws the middle square of the video's current frame (the square the dialog shows), at most SCAN_SIZE
 *  pixels a side, on the canvas; false before the first frame. */
function drawFrame(video: HTMLVideoElement, canvas: HTMLCanvasElement, context: CanvasRenderingContext2D): boolean {
  const { videoWidth: width, videoHeight: height } = video;
  if (width === 0 || height === 0) return false;
  const side = Math.min(width, height);
  const size = Math.min(SCAN_SIZE, side);
  if (canvas.width !== size) {
    canvas.width = size;
    canvas.height = size;
  }
  context.drawImage(video, (width - side) / 2, (height - side) / 2, side, side, 0, 0, size, size);
  return true;
}

/** Starts the camera into `video` and decodes its frames until one reads; returns what stops it all. */
function startScanner(video: HTMLVideoElement, on: { code: (text: string) => void; error: (message: string) => void }): () => void {
  let stream: MediaStream | null = null;
  let timer: number | undefined;
  let stopped = false;

  function stop() {
    stopped = true;
    window.clearTimeout(timer);
    stream?.getTracks().forEach((track) => track.stop());
    stream = null;
    video.srcObject = null;
  }

  async function scan(decode: Decode) {
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    if (!context) throw new Error("no canvas");
    const tick = async () => {
      const text = drawFrame(video, canvas, context) ? await decode(canvas, context).catch(() => null) : null;
      if (stopped) return;
      if (text) {
        stop();
        on.code(text.trim());
        return;
      }
      timer = window.setTimeout(() => void tick(), SCAN_INTERVAL_MS);
    };
    await tick();
  }

  function fail(message: string) {
    stop();
    on.error(message);
  }

  async function start() {
    // the decoder first: without it the camera would be opened for nothing
    const decode = await makeDecoder().catch(() => null);
    if (stopped) return;
    if (!decode) {
      fail("The code reader could not be loaded. Paste the code instead.");
      return;
    }
    try {
      if (!navigator.mediaDevices?.getUserMedia) throw new DOMException("no camera in this browser", "NotSupportedError");
      const media = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
      // closed while the browser was asking: the camera is released at once
      if (stopped) {
        media.getTracks().forEach((track) => track.stop());
        return;
      }
      stream = media;
      video.srcObject = media;
      await video.play();
      await scan(decode);
    } catch (error) {
      if (!stopped) fail(cameraError(error));
    }
  }

  void start();
  return stop;
}

function Viewer({ onCode, onError }: { onCode: (text: string) => void; onError: (message: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  // the latest callbacks, so that the camera starts once per opening and not on every render
  const handlers = useRef({ onCode, onError });
  useEffect(() => {
    handlers.current = { onCode, onError };
  });

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    return startScanner(element, { code: (text) => handlers.current.onCode(text), error: (message) => handlers.current.onError(message) });
  }, []);

  return (
    <div className="flex flex-col gap-2">
      <video ref={video} aria-label="Camera" muted playsInline className="aspect-square w-full max-w-xs rounded-lg bg-slate-900 object-cover" />
      <p className="text-sm text-slate-700 dark:text-slate-300">Point the camera at the code the new device shows.</p>
    </div>
  );
}

/** The "Scan with camera" / "Stop camera" button and, while scanning, the camera's picture. */
export function ScanCode({ onCode, onError }: { onCode: (code: string) => void; onError: (message: string) => void }) {
  const [scanning, setScanning] = useState(false);
  // a camera left on in a tab nobody looks at: turned off, "Scan with camera" starts it again
  useEffect(() => {
    if (!scanning) return;
    const hidden = () => {
      if (document.visibilityState === "hidden") setScanning(false);
    };
    document.addEventListener("visibilitychange", hidden);
    return () => document.removeEventListener("visibilitychange", hidden);
  }, [scanning]);
  return (
    <div className="flex flex-col gap-2">
      <button
        type="button"
        onClick={() => setScanning(!scanning)}
        className="self-start rounded-lg border border-slate-300 px-3 py-1.5 text-sm font-medium hover:bg-slate-100 dark:border-slate-700 dark:hover:bg-slate-800"
      >
        {scanning ? "Stop camera" : "Scan with camera"}
      </button>
      {scanning ? (
        <Viewer
          onCode={(code) => {
            setScanning(false);
            onCode(code);
          }}
          onError={(message) => {
            setScanning(false);
            onError(message);
          }}
        />
      ) : null}
    </div>
  );
}
