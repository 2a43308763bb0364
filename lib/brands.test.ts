import { describe, expect, it } from "vitest";
import { BRAND_IDS, BRANDS, brandOf, handleOf, isAddressError, isCanonicalAddress, parseAddress, parseHandle } from "./brands";

function canonical(input: string): string | null {
  const parsed = parseAddress(input);
  return isAddressError(parsed) ? null : parsed.address;
}

describe("brand registry", () => {
  it("has an entry with name, colour, rule and a valid example for every brand", () => {
    for (const id of BRAND_IDS) {
      const brand = BRANDS[id];
      expect(brand.id).toBe(id);
      expect(brand.name.length).toBeGreaterThan(0);
      expect(brand.color).toMatch(/^#[0-9a-f]{6}$/);
      expect(brand.normalize(brand.example)).toBe(brand.example);
    }
  });

  it("normalises WhatsApp phone numbers to E.164 and refuses non-numbers", () => {
    expect(canonical("whatsapp:+1 555-123-4567")).toBe("whatsapp:+15551234567");
    expect(canonical("whatsapp:+15551234567")).toBe("whatsapp:+15551234567");
    expect(canonical("whatsapp:15551234567")).toBeNull();
    expect(canonical("whatsapp:+0555123456")).toBeNull();
    expect(canonical("whatsapp:+1555123456789012")).toBeNull();
    expect(canonical("whatsapp:+1555abc4567")).toBeNull();
  });

  it("accepts Instagram handles with or without @ and refuses the rest", () => {
    expect(canonical("instagram:alice")).toBe("instagram:@alice");
    expect(canonical("instagram:@alice_b.c")).toBe("instagram:@alice_b.c");
    expect(canonical("instagram:@")).toBeNull();
    expect(canonical(`instagram:@${"a".repeat(31)}`)).toBeNull();
    expect(canonical(`instagram:@${"a".repeat(30)}`)).toBe(`instagram:@${"a".repeat(30)}`);
    expect(canonical("instagram:@Alice")).toBe("instagram:@alice");
    for (const bad of ["@.", "@_", "@__", "@.alice", "@alice.", "@al..ice", "@._."]) expect(canonical(`instagram:${bad}`)).toBeNull();
    expect(canonical("instagram:@_a")).toBe("instagram:@_a");
    expect(canonical("instagram:@a.b_c")).toBe("instagram:@a.b_c");
    expect(canonical("instagram:@al-ice")).toBeNull();
  });

  it("lower-cases Messenger handles and enforces 5–50 of a-z 0-9 .", () => {
    expect(canonical("messenger:Alice.Smith")).toBe("messenger:alice.smith");
    expect(canonical("messenger:abcd")).toBeNull();
    expect(canonical(`messenger:${"a".repeat(51)}`)).toBeNull();
    expect(canonical("messenger:alice_smith")).toBeNull();
    for (const bad of [".....", ".alice", "alice.", "ali..ce"]) expect(canonical(`messenger:${bad}`)).toBeNull();
  });

  it("refuses unknown brands and missing separators with a message naming the brands", () => {
    const unknown = parseAddress("telegram:alice");
    expect(isAddressError(unknown) && unknown.error).toBe("unknown_brand");
    const bare = parseAddress("alice");
    expect(isAddressError(bare) && bare.message).toContain("whatsapp");
  });

  it("names the brand's rule when a handle is invalid", () => {
    const bad = parseHandle("messenger", "ab");
    expect(isAddressError(bad) && bad.message).toContain(BRANDS.messenger.rule);
  });

  it("splits and recognises canonical addresses", () => {
    expect(brandOf("instagram:@alice")).toBe("instagram");
    expect(brandOf("nope:x")).toBeNull();
    expect(handleOf("whatsapp:+15551234567")).toBe("+15551234567");
    expect(isCanonicalAddress("messenger:alice.smith")).toBe(true);
    expect(isCanonicalAddress("messenger:Alice.Smith")).toBe(false);
  });
});
