// `npm run bench:scan`: what "Scan with camera" costs the CPU when the browser has no BarcodeDetector and
// jsQR decodes (components/devices/ScanCode.tsx). jsQR is plain JavaScript, so Node runs the same code the
// page does. A link code (66 characters, as the new device shows it) is drawn black on white in the middle
// of a frame; jsQR decodes the 400×400 square the scanner takes, and, as the baseline in the same process,
// a whole 1280×720 camera frame at the same scale, each with and without a code in view (while a person
// aims, most frames have none). Figures: median ms per decode, and the share of one core at 5 frames/s.
import { randomBytes } from "node:crypto";
import jsQR from "jsqr";
import QRCode from "qrcode";

const RUNS = 41;
const FRAMES_PER_SECOND = 5;

/** An RGBA frame, white, with `text` as a QR code of `cell`-pixel modules in the middle when given. */
function frame(width: number, height: number, text: string | null, cell: number): Uint8ClampedArray {
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  if (text === null) return pixels;
  const { modules } = QRCode.create(text, { errorCorrectionLevel: "M" });
  const left = Math.floor((width - cell * modules.size) / 2);
  const top = Math.floor((height - cell * modules.size) / 2);
  for (let y = 0; y < cell * modules.size; y++) {
    for (let x = 0; x < cell * modules.size; x++) {
      if (!modules.get(Math.floor(y / cell), Math.floor(x / cell))) continue;
      const at = ((top + y) * width + left + x) * 4;
      pixels.fill(0, at, at + 3);
    }
  }
  return pixels;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median ms of one decode; checks that the code reads back, or that nothing reads from a blank frame. */
function time(width: number, height: number, text: string | null, cell: number): number {
  const pixels = frame(width, height, text, cell);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const read = jsQR(pixels, width, height, { inversionAttempts: "dontInvert" });
    times.push(performance.now() - start);
    if ((read?.data ?? null) !== text) throw new Error(`decoded ${JSON.stringify(read?.data)} instead of ${JSON.stringify(text)}`);
  }
  return median(times);
}

const code = randomBytes(49).toString("base64url");
// 8-pixel modules: the code fills about three quarters of the 400-pixel square
const rows: [string, number][] = [
  ["400×400 square, code in view", time(400, 400, code, 8)],
  ["400×400 square, no code", time(400, 400, null, 8)],
  ["1280×720 frame, code in view (baseline)", time(1280, 720, code, 8)],
  ["1280×720 frame, no code (baseline)", time(1280, 720, null, 8)],
];
for (const [name, ms] of rows) {
  console.log(`${name.padEnd(42)} ${ms.toFixed(2).padStart(7)} ms/decode  ${((ms * FRAMES_PER_SECOND) / 10).toFixed(1).padStart(5)} % of a core at ${FRAMES_PER_SECOND}/s`);
}
console.log(`square ÷ whole frame: ${(rows[0][1] / rows[2][1]).toFixed(2)} with a code, ${(rows[1][1] / rows[3][1]).toFixed(2)} without`);
