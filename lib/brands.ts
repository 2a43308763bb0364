// The brand registry: every brand Junction speaks for is one entry here and nowhere else.
// Pure: shared by the relay, the worker and the UI.

export const BRAND_IDS = ["whatsapp", "instagram", "messenger"] as const;
export type BrandId = (typeof BRAND_IDS)[number];

export interface Brand {
  id: BrandId;
  /** Shown to people. */
  name: string;
  /** The brand's colour, for badges and accents (CSS colour). */
  color: string;
  /** One sentence that explains the handle rule, shown beside the handle field. */
  rule: string;
  /** An example handle, for placeholders. */
  example: string;
  /** Turns what a person typed into the canonical handle, or returns null when it breaks the rule. */
  normalize(input: string): string | null;
}

const E164 = /^\+[1-9]\d{6,14}$/;
const INSTAGRAM = /^@[a-z0-9._]{1,30}$/;
const MESSENGER = /^[a-z0-9.]{5,50}$/;

/**
 * What both brands require beyond their character sets: at least one letter or digit, and no dot at
 * the start, at the end or twice in a row — so `@.`, `@_` and `.....` are not handles.
 */
function wellFormed(bare: string): boolean {
  return /[a-z0-9]/.test(bare) && !bare.startsWith(".") && !bare.endsWith(".") && !bare.includes("..");
}

export const BRANDS: Readonly<Record<BrandId, Brand>> = {
  whatsapp: {
    id: "whatsapp",
    name: "WhatsApp",
    color: "#25d366",
    rule: "A phone number in international format: + and country code, then the number (spaces and dashes are ignored).",
    example: "+15551234567",
    normalize(input) {
      const handle = input.trim().replace(/[\s-]/g, "");
      return E164.test(handle) ? handle : null;
    },
  },
  instagram: {
    id: "instagram",
    name: "Instagram",
    color: "#e1306c",
    rule: "@ followed by 1–30 letters, digits, dots or underscores, with at least one letter or digit and no dot at either end or twice in a row (the @ is optional; letters are lower-cased).",
    example: "@alice",
    normalize(input) {
      // Instagram handles are case-insensitive, as Messenger's are: @Alice and @alice are one person.
      const bare = input.trim().replace(/^@/, "").toLowerCase();
      const handle = `@${bare}`;
      return INSTAGRAM.test(handle) && wellFormed(bare) ? handle : null;
    },
  },
  messenger: {
    id: "messenger",
    name: "Messenger",
    color: "#0084ff",
    rule: "5–50 letters, digits or dots, with no dot at either end or twice in a row; letters are lower-cased.",
    example: "alice.smith",
    normalize(input) {
      const handle = input.trim().toLowerCase();
      return MESSENGER.test(handle) && wellFormed(handle) ? handle : null;
    },
  },
};

export function isBrandId(value: string): value is BrandId {
  return (BRAND_IDS as readonly string[]).includes(value);
}

/** An address is `brand:handle` with a canonical handle. */
export type Address = `${BrandId}:${string}`;

export interface ParsedAddress {
  brand: BrandId;
  handle: string;
  address: Address;
}

export type AddressError = { error: "unknown_brand"; message: string } | { error: "bad_handle"; message: string };

/** Parses and normalises `brand:handle`. Returns the canonical form or an error naming the rule. */
export function parseAddress(input: string): ParsedAddress | AddressError {
  const trimmed = input.trim();
  const colon = trimmed.indexOf(":");
  if (colon <= 0) return { error: "unknown_brand", message: `address must look like brand:handle (brands: ${BRAND_IDS.join(", ")})` };
  const brandId = trimmed.slice(0, colon).toLowerCase();
  if (!isBrandId(brandId)) return { error: "unknown_brand", message: `unknown brand "${brandId}" (brands: ${BRAND_IDS.join(", ")})` };
  return parseHandle(brandId, trimmed.slice(colon + 1));
}

export function parseHandle(brand: BrandId, input: string): ParsedAddress | AddressError {
  const handle = BRANDS[brand].normalize(input);
  if (handle === null) return { error: "bad_handle", message: `invalid ${BRANDS[brand].name} handle: ${BRANDS[brand].rule}` };
  return { brand, handle, address: `${brand}:${handle}` };
}

export function isAddressError(value: ParsedAddress | AddressError): value is AddressError {
  return "error" in value;
}

/** True when `value` is already a canonical address. */
export function isCanonicalAddress(value: string): value is Address {
  const parsed = parseAddress(value);
  return !isAddressError(parsed) && parsed.address === value;
}

export function brandOf(address: Address | string): BrandId | null {
  const brand = address.slice(0, address.indexOf(":"));
  return isBrandId(brand) ? brand : null;
}

export function handleOf(address: Address | string): string {
  return address.slice(address.indexOf(":") + 1);
}
