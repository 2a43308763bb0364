import { describe, expect, it } from "vitest";
import { randomBytes } from "./bytes";
import { ATTACHMENT_CHUNK_BYTES, AttachmentDecryptor, AttachmentEncryptor, decryptAttachment, encryptAttachment } from "./attachments";

describe("attachments", () => {
  for (const size of [0, 1, ATTACHMENT_CHUNK_BYTES - 1, ATTACHMENT_CHUNK_BYTES, ATTACHMENT_CHUNK_BYTES + 1, 3 * ATTACHMENT_CHUNK_BYTES + 17]) {
    it(`round-trips ${size} bytes`, async () => {
      const data = randomBytes(size);
      const enc = await encryptAttachment(data);
      expect(await decryptAttachment(enc)).toEqual(data);
    });
  }

  it("streams in uneven pieces both ways", () => {
    const data = randomBytes(5 * ATTACHMENT_CHUNK_BYTES + 1234);
    const e = new AttachmentEncryptor();
    const parts: Uint8Array[] = [];
    for (let o = 0; o < data.length; o += 40_000) parts.push(e.push(data.subarray(o, o + 40_000)));
    const { tail, digest } = e.finish();
    parts.push(tail);
    const d = new AttachmentDecryptor({ key: e.key, digest, commitment: e.commitment });
    const out: Uint8Array[] = [];
    for (const p of parts) for (let o = 0; o < p.length; o += 7_777) out.push(d.push(p.subarray(o, o + 7_777)));
    out.push(d.finish());
    expect(Buffer.concat(out)).toEqual(Buffer.from(data));
  });

  it("rejects a flipped byte, a truncation and a wrong digest", async () => {
    const enc = await encryptAttachment(randomBytes(2 * ATTACHMENT_CHUNK_BYTES + 5));
    const flipped = enc.ciphertext.slice();
    flipped[100] ^= 1;
    await expect(decryptAttachment({ ...enc, ciphertext: flipped })).rejects.toMatchObject({ code: "bad_digest" });
    const truncated = enc.ciphertext.subarray(0, 5 + ATTACHMENT_CHUNK_BYTES + 16);
    const d = new AttachmentDecryptor({ ...enc });
    d.push(truncated);
    // Dropping the last chunk leaves a non-final chunk where the final one should be.
    expect(() => d.finish()).toThrow(expect.objectContaining({ code: "bad_message" }));
    await expect(decryptAttachment({ ...enc, digest: randomBytes(32) })).rejects.toMatchObject({ code: "bad_digest" });
  });

  it("refuses a key that does not match the commitment", async () => {
    const enc = await encryptAttachment(randomBytes(10));
    await expect(decryptAttachment({ ...enc, key: randomBytes(32) })).rejects.toMatchObject({ code: "bad_key" });
  });
});
