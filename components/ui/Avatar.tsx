import { BRANDS, type BrandId } from "@/lib/brands";
import { initials } from "../format";

/**
 * The brand colour darkened until white initials on it reach WCAG AA (brand colours themselves are
 * bright: WhatsApp's green under white text is under 2:1).
 */
function shade(hex: string, factor = 0.55): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1]!, 16);
  const part = (shift: number) => Math.round(((n >> shift) & 0xff) * factor).toString(16).padStart(2, "0");
  return `#${part(16)}${part(8)}${part(0)}`;
}

/** Initials in the peer's brand colour; decorative, the name is always written next to it. */
export function Avatar({ name, brand, size = "md" }: { name: string; brand: BrandId; size?: "md" | "sm" }) {
  const dims = size === "md" ? "h-11 w-11 text-sm" : "h-9 w-9 text-xs";
  return (
    <span
      aria-hidden="true"
      className={`${dims} flex shrink-0 items-center justify-center rounded-full font-semibold text-white`}
      style={{ backgroundColor: shade(BRANDS[brand].color) }}
    >
      {initials(name)}
    </span>
  );
}
