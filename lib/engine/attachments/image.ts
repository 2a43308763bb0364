// Images before they are sent (runtime: the worker, where createImageBitmap and OffscreenCanvas exist;
// elsewhere, as in Node tests, images go as plain files). The image is decoded and drawn again, which
// drops everything that is not pixels (EXIF with GPS position and camera, XMP, comments), and a small
// thumbnail is made to travel inside the encrypted content.
import { MAX_THUMB_BYTES } from "../content/kinds/attachment";

/** Image types re-encoded as themselves; others (GIF: its animation would be lost) go as files. */
const REENCODED = new Set(["image/jpeg", "image/png", "image/webp"]);
/** Longest side of a sent image: larger photos are scaled down (as every messenger does). */
export const MAX_SENT_SIDE = 4096;
/** Longest side of the thumbnail. */
export const THUMB_SIDE = 96;

export interface PreparedImage {
  blob: Blob;
  width: number;
  height: number;
  thumb: Uint8Array;
}

interface Canvas {
  getContext(kind: "2d"): { drawImage(image: unknown, x: number, y: number, w: number, h: number): void } | null;
  convertToBlob(options: { type: string; quality?: number }): Promise<Blob>;
}
type CanvasCtor = new (w: number, h: number) => Canvas;
interface Bitmap {
  width: number;
  height: number;
  close(): void;
}
type BitmapFn = (blob: Blob, options?: { imageOrientation?: string }) => Promise<Bitmap>;

function platform(): { canvas: CanvasCtor; bitmap: BitmapFn } | null {
  const g = globalThis as unknown as { OffscreenCanvas?: CanvasCtor; createImageBitmap?: BitmapFn };
  return g.OffscreenCanvas && g.createImageBitmap ? { canvas: g.OffscreenCanvas, bitmap: g.createImageBitmap.bind(globalThis) } : null;
}

function fit(w: number, h: number, side: number): [number, number] {
  const scale = Math.min(1, side / Math.max(w, h));
  return [Math.max(1, Math.round(w * scale)), Math.max(1, Math.round(h * scale))];
}

async function draw(p: { canvas: CanvasCtor }, bitmap: Bitmap, w: number, h: number, type: string, quality?: number): Promise<Blob> {
  const canvas = new p.canvas(w, h);
  const ctx = canvas.getContext("2d");
  if (!ctx) throw new Error("no 2d context");
  ctx.drawImage(bitmap, 0, 0, w, h);
  return canvas.convertToBlob(quality === undefined ? { type } : { type, quality });
}

/** Re-encodes an image and makes its thumbnail; null when it is not an image this can decode (it goes as a file). */
export async function prepareImage(blob: Blob, mime: string): Promise<PreparedImage | null> {
  const p = platform();
  if (!p || !REENCODED.has(mime)) return null;
  let bitmap: Bitmap;
  try {
    // EXIF orientation is applied to the pixels, since the tag itself does not survive
    bitmap = await p.bitmap(blob, { imageOrientation: "from-image" });
  } catch {
    return null;
  }
  try {
    const [w, h] = fit(bitmap.width, bitmap.height, MAX_SENT_SIDE);
    const out = await draw(p, bitmap, w, h, mime, mime === "image/png" ? undefined : 0.9);
    let thumb: Uint8Array | null = null;
    for (const [side, quality] of [[THUMB_SIDE, 0.6], [64, 0.5], [32, 0.4]] as const) {
      const [tw, th] = fit(w, h, side);
      const t = new Uint8Array(await (await draw(p, bitmap, tw, th, "image/jpeg", quality)).arrayBuffer());
      if (t.length <= MAX_THUMB_BYTES) {
        thumb = t;
        break;
      }
    }
    if (!thumb) return null;
    return { blob: out, width: w, height: h, thumb };
  } finally {
    bitmap.close();
  }
}
