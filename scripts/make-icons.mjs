// Writes the PWA icons (192 and 512 px, plain and maskable) as real PNGs with no image library:
// a tiny PNG encoder over node:zlib. Run: node scripts/make-icons.mjs
import { writeFileSync, mkdirSync } from "node:fs";
import { deflateSync } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function png(size, pixel) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    const row = y * (size * 4 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(pixel(x / size, y / size), row + 1 + x * 4);
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

const BG = [15, 23, 42, 255]; // slate-900, the theme colour
const BRANDS = [[37, 211, 102], [225, 48, 108], [0, 132, 255]]; // WhatsApp, Instagram, Messenger
const CLEAR = [0, 0, 0, 0];

// Three brand-coloured dots joined at a white hub: a junction.
function mark(u, v, scale) {
  const cx = 0.5, cy = 0.5;
  const x = (u - cx) / scale, y = (v - cy) / scale;
  const r = Math.hypot(x, y);
  if (r < 0.07) return [255, 255, 255, 255];
  for (let i = 0; i < 3; i++) {
    const a = -Math.PI / 2 + (i * 2 * Math.PI) / 3;
    const dx = x - 0.27 * Math.cos(a), dy = y - 0.27 * Math.sin(a);
    if (Math.hypot(dx, dy) < 0.12) return [...BRANDS[i], 255];
    // the spoke from the hub to this dot
    const t = x * Math.cos(a) + y * Math.sin(a);
    const d = Math.abs(-x * Math.sin(a) + y * Math.cos(a));
    if (t > 0 && t < 0.27 && d < 0.025) return [255, 255, 255, 255];
  }
  return null;
}

function plain(u, v) {
  // rounded square with transparent corners
  const m = 0.04, rad = 0.2;
  const qx = Math.max(Math.abs(u - 0.5) - (0.5 - m - rad), 0), qy = Math.max(Math.abs(v - 0.5) - (0.5 - m - rad), 0);
  if (Math.hypot(qx, qy) > rad) return CLEAR;
  return mark(u, v, 1) ?? BG;
}

// Maskable: full bleed, the mark inside the 80% safe zone.
const maskable = (u, v) => mark(u, v, 0.75) ?? BG;

mkdirSync("public/icons", { recursive: true });
for (const size of [192, 512]) {
  writeFileSync(`public/icons/icon-${size}.png`, png(size, plain));
  writeFileSync(`public/icons/maskable-${size}.png`, png(size, maskable));
}
writeFileSync("public/icons/apple-touch-icon.png", png(180, maskable));
console.log("icons written to public/icons");
