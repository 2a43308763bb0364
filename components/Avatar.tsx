import { BRANDS, type BrandId } from "@/lib/brands";
import { initials } from "./format";

/** Initials in the peer's brand colour; decorative, the name is always written next to it. */
export function Avatar({ name, brand, size = "md" }: { name: string; brand: BrandId; size?: "md" | "sm" }) {
  const dims = size === "md" ? "h-11 w-11 text-sm" : "h-9 w-9 text-xs";
  return (
    <span
      aria-hidden="true"
      className={`${dims} flex shrink-0 items-center justify-center rounded-full font-semibold text-white`}
      style={{ backgroundColor: BRANDS[brand].color }}
    >
      {initials(name)}
    </span>
  );
}
