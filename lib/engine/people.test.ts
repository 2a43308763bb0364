import "fake-indexeddb/auto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JunctionDB } from "../store/db";
import { EngineError } from "../worker/rpc";
import { addContactLocal, linkAddressesLocal, setNicknameLocal, unlinkAddressLocal } from "./people";

let db: JunctionDB;

beforeEach(async () => {
  db = new JunctionDB(`people-rpc-${Math.random().toString(36).slice(2)}`);
  await db.open();
  await db.accounts.put({ address: "messenger:alice.smith", brand: "messenger", handle: "alice.smith", displayName: "Alice", identityKey: new Uint8Array(33), createdAt: 1 });
});

afterEach(async () => {
  db.close();
  await db.delete();
});

async function refusal(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  return (error as EngineError).code;
}

describe("people RPCs", () => {
  it("take addresses as typed and keep them canonical", async () => {
    await addContactLocal(db, { address: "instagram:Carol", nickname: "Carol" }, 1);
    const { personId } = await linkAddressesLocal(db, { address: "instagram:@carol", to: "whatsapp:+1 555 000 0003" }, 2);
    expect((await db.addressBook.get("whatsapp:+15550000003"))?.personId).toBe(personId);
    expect((await db.addressBook.get("instagram:@carol"))?.nickname).toBe("Carol");
  });

  it("refuse bad input with a clear error and keep nothing of it", async () => {
    expect(await refusal(addContactLocal(db, { address: "telegram:@carol" }, 1))).toBe("bad_handle");
    expect(await refusal(linkAddressesLocal(db, { address: "instagram:@carol", to: "whatsapp:12" }, 1))).toBe("bad_handle");
    expect(await refusal(linkAddressesLocal(db, { address: "instagram:@carol", to: "messenger:alice.smith" }, 1))).toBe("bad_request");
    expect(await refusal(setNicknameLocal(db, { address: "instagram:@carol", nickname: "x".repeat(101) }, 1))).toBe("bad_request");
    expect(await refusal(setNicknameLocal(db, { address: "instagram:@carol", nickname: 5 as unknown as string }, 1))).toBe("bad_request");
    expect(await db.addressBook.count()).toBe(0);
    expect(await db.people.count()).toBe(0);
  });

  it("unlink an address that was never joined as a no-op", async () => {
    await unlinkAddressLocal(db, { address: "instagram:@carol" }, 1);
    expect(await db.addressBook.count()).toBe(0);
  });
});
