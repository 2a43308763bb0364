// Linking a device to my accounts (docs/CRYPTO.md, "Devices"; the channel: docs/PROTOCOL.md, provision:*).
// Three sealed messages over the relay's provisioning channel, named by the link code's id:
//   primary → new device, sealed to the code's key C:  hello   { its own ephemeral key P, my addresses }
//   new device → primary, sealed to P:                 join    { the device's name, per address: device id, device identity key }
//   primary → new device, sealed to C:                 welcome { per address: name, account key, certificate, new signed list }
//                                                      (or cancel: the person did not confirm, or the primary could not link)
//   new device → primary, sealed to P:                 done
//   primary → new device, sealed to C:                 history { the archive's pointer } or nohistory (history/transfer.ts)
// C travels only on the screen (QR or pasted text), so only the device that showed the code opens hello
// and learns P; only the primary, which made P, opens join. The relay sees the channel id and sizes.
// The new device then registers each device under its account with the new list (the relay checks the
// account key's signature and that the list names it) and logs in; the primary keeps the new list.
import { z } from "zod";
import { EVENTS, fromB64, toB64, type Address } from "./deps";
import type { AccountRow } from "../store/db";
import { forgetAccountKeys } from "../store/keys";
import { setPendingHistory } from "../store/history";
import {
  certifyDevice,
  createProvisioningRequest,
  decodeProvisioningCode,
  encodeProvisioningCode,
  generateIdentityKeyPair,
  MAX_DEVICES,
  openDeviceList,
  openProvisioning,
  sealProvisioning,
  signDeviceList,
  verifyDeviceCertificate,
  type DeviceList,
  type KeyPair,
  type ProvisioningCode,
  type ProvisioningRequest,
} from "../crypto";
import { EngineError } from "../worker/rpc";
import { brandOf, parseHandle, isAddressError } from "../brands";
import type { EngineContext } from "./context";
import { prepareDevice } from "./accounts";
import { checkDeviceList } from "./deviceLists";
import { request } from "./relay";
import { HistoryOffer } from "./history/transfer";

/** How long either side waits for the other's next message. */
export const LINK_STEP_MS = 5 * 60_000;
export const MAX_DEVICE_NAME = 64;

const b64 = z.string().regex(/^[A-Za-z0-9_-]*$/).max(8192);
const Hello = z.strictObject({ t: z.literal("hello"), key: b64, accounts: z.array(z.string().max(200)).min(1).max(3) });
const Join = z.strictObject({
  t: z.literal("join"),
  name: z.string().min(1).max(MAX_DEVICE_NAME),
  devices: z.array(z.strictObject({ address: z.string().max(200), deviceId: z.string().max(64), identityKey: b64 })).min(1).max(3),
});
const Welcome = z.strictObject({
  t: z.literal("welcome"),
  accounts: z
    .array(z.strictObject({ address: z.string().max(200), displayName: z.string().min(1).max(100), accountKey: b64, certificate: b64, linkedAt: z.number().int().nonnegative(), list: b64 }))
    .min(1)
    .max(3),
});
const Done = z.strictObject({ t: z.literal("done") });
const Cancel = z.strictObject({ t: z.literal("cancel") });
const WelcomeOrCancel = z.discriminatedUnion("t", [Welcome, Cancel]);
/** How long a new device's code waits for the primary's hello. */
export const HELLO_WAIT_MS = 10 * 60_000;
/** How long a linked device waits for the primary's history offer (it builds and uploads the archive first). */
export const HISTORY_WAIT_MS = 10 * 60_000;

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function decode<T>(schema: z.ZodType<T>, bytes: Uint8Array): T {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new EngineError("bad_request", "not a link message");
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new EngineError("bad_request", "not a link message");
  return parsed.data;
}

/** The provisioning messages of each channel this engine listens on, handed to whoever waits for them. */
export class ProvisionInbox {
  private readonly queued = new Map<string, Uint8Array[]>();
  private readonly waiters = new Map<string, (body: Uint8Array) => void>();

  deliver(payload: unknown): void {
    const parsed = z.object({ channel: z.string(), body: b64.max(400_000) }).safeParse(payload);
    if (!parsed.success) return;
    const { channel, body } = parsed.data;
    const waiter = this.waiters.get(channel);
    if (waiter) {
      this.waiters.delete(channel);
      waiter(fromB64(body));
    } else if (this.queued.has(channel)) this.queued.get(channel)?.push(fromB64(body));
  }

  listen(channel: string): void {
    if (!this.queued.has(channel)) this.queued.set(channel, []);
  }

  close(channel: string): void {
    this.queued.delete(channel);
    this.waiters.delete(channel);
  }

  /** The next message on `channel` (listened on), or a timeout. */
  next(channel: string, timeoutMs = LINK_STEP_MS): Promise<Uint8Array> {
    const ready = this.queued.get(channel)?.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(channel);
        reject(new EngineError("offline", "the other device did not answer in time"));
      }, timeoutMs);
      this.waiters.set(channel, (body) => {
        clearTimeout(timer);
        resolve(body);
      });
    });
  }
}

async function listen(ctx: EngineContext, inbox: ProvisionInbox, channel: string): Promise<void> {
  inbox.listen(channel);
  await request(ctx.socket(), EVENTS.provisionListen, { channel });
}

const send = (ctx: EngineContext, channel: string, body: Uint8Array) => request(ctx.socket(), EVENTS.provisionSend, { channel, body: toB64(body) });

/** The code a new device shows, as text (the QR code holds the same text). */
export function linkCodeText(code: ProvisioningCode): string {
  return toB64(encodeProvisioningCode(code));
}

function parseLinkCode(text: string): ProvisioningCode {
  try {
    return decodeProvisioningCode(fromB64(text.trim()));
  } catch {
    throw new EngineError("bad_request", "that is not a link code");
  }
}

/**
 * The notice a primary sends when the code typed on it is not a whole link code, on the channel its first
 * characters name. Not sealed (the code's key may be what was mistyped), so anyone who knows the channel id
 * (the relay) could send it too: the new device only shows it and keeps waiting, the code still good.
 */
export const BAD_CODE_NOTICE = new TextEncoder().encode("junction/link-code-mistyped");
/** The characters of a text code that hold its version byte and channel id (1 + 16 bytes, base64url). */
const CODE_ID_CHARS = 24;

/** The channel a mistyped code most likely names (a typo past its first characters leaves the id whole), if any. */
function channelOfMistyped(text: string): string | null {
  const head = text.trim().slice(0, CODE_ID_CHARS);
  if (!/^[A-Za-z0-9_-]{24}$/.test(head)) return null;
  const bytes = fromB64(head);
  if (bytes[0] !== encodeProvisioningCode({ id: new Uint8Array(16), publicKey: new Uint8Array(32) })[0]) return null;
  return toB64(bytes.subarray(1, 17));
}

/**
 * The primary's side: links the device that shows `codeText` to every account whose key this device holds,
 * once the person confirmed its name.
 */
export async function linkDevice(
  ctx: EngineContext,
  inbox: ProvisionInbox,
  mine: { account: AccountRow; keys: KeyPair; deviceId: string }[],
  codeText: string,
  /** Shows the new device's name to the person; false (or no answer) stops the link before anything is issued. */
  confirm: (name: string) => Promise<boolean>,
): Promise<LinkedDevice> {
  const { db } = ctx;
  let code: ProvisioningCode;
  try {
    code = parseLinkCode(codeText);
  } catch (error) {
    // the new device hears of it at once rather than after its 10 minutes (best effort: it may be no one's)
    const channel = channelOfMistyped(codeText);
    if (channel) await send(ctx, channel, BAD_CODE_NOTICE).catch(() => undefined);
    throw error;
  }
  // only the device that holds an account key can vouch for a new device of that account
  const primaries = mine.filter((m) => sameKey(m.keys.publicKey, m.account.identityKey));
  if (primaries.length === 0) throw new EngineError("bad_request", "only the device that created the account can link devices");
  const channel = toB64(code.id);
  // P: a fresh X25519 key of this link only (the request's own random id is not used)
  const p = (await createProvisioningRequest()).keyPair;
  const fromNew: ProvisioningRequest = { id: code.id, publicKey: p.publicKey, keyPair: p };
  await listen(ctx, inbox, channel);
  try {
    await send(ctx, channel, await sealProvisioning(code, encode({ t: "hello", key: toB64(p.publicKey), accounts: primaries.map((m) => m.account.address) })));
    const answer = await inbox.next(channel);
    // the new device could not open hello: the code's key part was mistyped here
    if (sameKey(answer, BAD_CODE_NOTICE)) throw new EngineError("bad_request", "the code does not match the one on the new device: check it and type it again");
    const join = decode(Join, await openFrom(fromNew, answer));
    try {
      return await welcome(join);
    } catch (error) {
      // the new device stops waiting at once, with a reason, instead of at its timeout
      await send(ctx, channel, await sealProvisioning(code, encode({ t: "cancel" }))).catch(() => undefined);
      throw error;
    }
  } finally {
    inbox.close(channel);
  }

  async function welcome(join: z.infer<typeof Join>) {
    if (!(await confirm(join.name))) throw new LinkCancelled();
    const now = ctx.now();
    const accounts: z.infer<typeof Welcome>["accounts"] = [];
    const lists: { address: Address; accountKey: Uint8Array; signed: string; deviceId: string }[] = [];
    for (const m of primaries) {
      const wanted = join.devices.find((d) => d.address === m.account.address);
      if (!wanted) continue;
      const current = await db.deviceLists.get(m.account.address);
      if (!current) throw new EngineError("bad_request", "this account has no device list yet: try again when online");
      if (current.devices.length >= MAX_DEVICES) throw new EngineError("bad_request", "this account has its most linked devices");
      const identityKey = fromB64(wanted.identityKey);
      const list: DeviceList = {
        address: m.account.address,
        version: current.version + 1,
        timestamp: now,
        devices: [...current.devices, { deviceId: wanted.deviceId, identityKey, linkedAt: now }],
      };
      const signed = toB64(signDeviceList(m.keys, list));
      const certificate = certifyDevice(m.keys, { address: m.account.address, deviceId: wanted.deviceId, identityKey, linkedAt: now });
      accounts.push({ address: m.account.address, displayName: m.account.displayName, accountKey: toB64(m.keys.publicKey), certificate: toB64(certificate), linkedAt: now, list: signed });
      lists.push({ address: m.account.address, accountKey: m.keys.publicKey, signed, deviceId: wanted.deviceId });
    }
    if (accounts.length === 0) throw new EngineError("bad_request", "the new device asked for none of my accounts");
    await send(ctx, channel, await sealProvisioning(code, encode({ t: "welcome", accounts })));
    decode(Done, await openFrom(fromNew, await inbox.next(channel)));
    // the new device registered under the new lists: they are mine now (the relay holds them)
    for (const l of lists) {
      const row = await checkDeviceList(db, l.address, l.accountKey, l.signed, ctx.now());
      await db.deviceLists.update(l.address, { published: true, names: { ...row.names, [l.deviceId]: join.name } });
    }
    // sending needs no listening: the offer goes once the archive is up, after this channel closed here
    return { name: join.name, accounts: lists.map((l) => l.address), devices: lists.map((l) => ({ our: l.address, device: l.deviceId })), offer: async (offer: HistoryOffer) => void (await send(ctx, channel, await sealProvisioning(code, encode(offer)))) };
  }
}

/** A device the primary just linked: its name, the accounts it joined, and how to send it the history offer. */
export interface LinkedDevice {
  name: string;
  accounts: Address[];
  /** Its device id under each account (the history offer's sync goes to it). */
  devices: { our: Address; device: string }[];
  offer(offer: HistoryOffer): Promise<void>;
}

/** The person did not confirm the link: nothing was issued to the new device. */
export class LinkCancelled extends Error {
  constructor() {
    super("the link was cancelled");
    this.name = "LinkCancelled";
  }
}

async function openFrom(request: ProvisioningRequest, body: Uint8Array): Promise<Uint8Array> {
  try {
    return await openProvisioning(request, body);
  } catch {
    throw new EngineError("bad_request", "a link message that does not open");
  }
}

function sameKey(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A new device's side, started by startLink: the code to show, and the linking that finishes later. */
export interface PendingLink {
  code: string;
  done: Promise<Address[]>;
  /** The primary's history offer, once linked (rejects when the link failed or no offer came in time). */
  history: Promise<HistoryOffer>;
}

/** The primary said no (the person cancelled, or it could not link this device). */
export class LinkRefused extends Error {
  constructor() {
    super("the other device cancelled the link");
    this.name = "LinkRefused";
  }
}

/** The new device's side: shows a code, then joins the accounts the primary offers and registers under them. */
export async function startLink(ctx: EngineContext, inbox: ProvisionInbox, name: string, onLinked: () => Promise<void>, onBadCode: () => Promise<void> = async () => undefined): Promise<PendingLink> {
  const { db } = ctx;
  if ((await db.accounts.count()) > 0) throw new EngineError("bad_request", "this device already has accounts");
  const req = await createProvisioningRequest();
  const channel = toB64(req.id);
  await listen(ctx, inbox, channel);
  let offered!: (offer: Promise<HistoryOffer>) => void;
  const history = new Promise<HistoryOffer>((resolve, reject) => (offered = (offer) => void offer.then(resolve, reject)));
  history.catch(() => undefined);
  const done = (async () => {
    const made: Address[] = [];
    let waitingForOffer = false;
    try {
      const hello = await waitForHello();
      const toPrimary: ProvisioningCode = { id: req.id, publicKey: fromB64(hello.key) };
      const now = ctx.now();
      const devices: { address: Address; identity: KeyPair; keys: Awaited<ReturnType<typeof prepareDevice>> }[] = [];
      for (const a of hello.accounts) {
        const { address } = parseAddress(a);
        // the device's own identity key, made here: it never leaves this worker
        const identity = generateIdentityKeyPair();
        made.push(address);
        devices.push({ address, identity, keys: await prepareDevice(ctx, address, identity, now) });
      }
      const join = { t: "join", name: name.slice(0, MAX_DEVICE_NAME) || "New device", devices: devices.map((d) => ({ address: d.address, deviceId: d.keys.deviceId, identityKey: toB64(d.identity.publicKey) })) };
      await send(ctx, channel, await sealProvisioning(toPrimary, encode(join)));
      const welcome = decode(WelcomeOrCancel, await openFrom(req, await inbox.next(channel)));
      if (welcome.t === "cancel") throw new LinkRefused();
      const linked: Address[] = [];
      for (const offered of welcome.accounts) {
        const device = devices.find((d) => d.address === offered.address);
        if (!device) continue;
        const accountKey = fromB64(offered.accountKey);
        const cert = { address: device.address, deviceId: device.keys.deviceId, identityKey: device.identity.publicKey, linkedAt: offered.linkedAt };
        // the account key vouches for this very device, on the certificate and on the list
        const list = openDeviceList(accountKey, device.address, fromB64(offered.list));
        const listed = list.devices.find((d) => d.deviceId === device.keys.deviceId);
        if (!verifyDeviceCertificate(accountKey, cert, fromB64(offered.certificate)) || !listed || !sameKey(listed.identityKey, device.identity.publicKey)) {
          throw new EngineError("bad_request", "the link was not vouched for by the account key");
        }
        await request(ctx.socket(), EVENTS.register, { address: device.address, identityKey: offered.accountKey, device: device.keys, deviceList: offered.list, companion: true });
        const parsed = parseAddress(device.address);
        const row: AccountRow = { address: device.address, brand: parsed.brand, handle: parsed.handle, displayName: offered.displayName, identityKey: accountKey, createdAt: ctx.now() };
        await checkDeviceList(db, device.address, accountKey, offered.list, ctx.now());
        await db.deviceLists.update(device.address, { published: true });
        // the account row last: with it the app leaves first run
        await db.accounts.put(row);
        linked.push(device.address);
      }
      // the history is expected from now on, across reloads, whichever way its offer comes
      if (linked.length > 0) await setPendingHistory(db, { accounts: linked, since: ctx.now() });
      await send(ctx, channel, await sealProvisioning(toPrimary, encode({ t: "done" })));
      await onLinked();
      waitingForOffer = true;
      offered(nextOffer());
      return linked;
    } catch (error) {
      offered(Promise.reject(error));
      // nothing half-made stays: the keys of devices that did not join go
      for (const address of made) {
        if (!(await db.accounts.get(address))) {
          await forgetAccountKeys(db, address);
          await db.device.delete(address);
        }
      }
      throw error;
    } finally {
      if (!waitingForOffer) inbox.close(channel);
    }
  })();
  done.catch(() => undefined);
  return { code: linkCodeText(req), done, history };

  /**
   * The primary's hello. A message that does not open (the code was mistyped on the primary, or someone who
   * knows the channel id sends anything) or the primary's notice of a mistyped code ends nothing: the person
   * is told, and the code stays good until its time is up. So no one can cancel a link by its id alone.
   */
  async function waitForHello(): Promise<z.infer<typeof Hello>> {
    const until = Date.now() + HELLO_WAIT_MS;
    for (;;) {
      const body = await inbox.next(channel, Math.max(0, until - Date.now()));
      try {
        return decode(Hello, await openFrom(req, body));
      } catch {
        await onBadCode().catch(() => undefined);
        // tell the primary, which waits for this device's answer: its code does not match (best effort)
        if (!sameKey(body, BAD_CODE_NOTICE)) await send(ctx, channel, BAD_CODE_NOTICE).catch(() => undefined);
      }
    }
  }

  async function nextOffer(): Promise<HistoryOffer> {
    try {
      // listening again restarts the relay's listen time (the archive is built and uploaded first)
      await listen(ctx, inbox, channel);
      return decode(HistoryOffer, await openFrom(req, await inbox.next(channel, HISTORY_WAIT_MS)));
    } finally {
      inbox.close(channel);
    }
  }
}

function parseAddress(text: string) {
  const brand = brandOf(text);
  const parsed = brand ? parseHandle(brand, text.slice(text.indexOf(":") + 1)) : null;
  if (!parsed || isAddressError(parsed) || parsed.address !== text) throw new EngineError("bad_request", "not a link message");
  return parsed;
}

/**
 * The primary removes a linked device: each of my accounts gets a list version without it (the device was
 * linked to all of them at one time, so its entries share that link time), published to the relay, which
 * deletes its registrations and mail and tells it. Contacts stop encrypting to it at their next send.
 */
export async function removeDevice(ctx: EngineContext, mine: { account: AccountRow; keys: KeyPair }[], deviceId: string): Promise<void> {
  const { db } = ctx;
  const primaries = mine.filter((m) => sameKey(m.keys.publicKey, m.account.identityKey));
  if (primaries.length === 0) throw new EngineError("bad_request", "only the device that created the account can remove devices");
  const rows = await db.deviceLists.bulkGet(primaries.map((m) => m.account.address));
  const target = rows.flatMap((r) => r?.devices ?? []).find((d) => d.deviceId === deviceId);
  if (!target || primaries.some((m) => sameKey(m.keys.publicKey, target.identityKey))) throw new EngineError("bad_request", "no such linked device");
  for (const [i, m] of primaries.entries()) {
    const row = rows[i];
    if (!row) continue;
    const keep = row.devices.filter((d) => d.deviceId !== deviceId && !(d.linkedAt === target.linkedAt && !sameKey(d.identityKey, m.keys.publicKey)));
    if (keep.length === row.devices.length) continue;
    const list: DeviceList = { address: m.account.address, version: row.version + 1, timestamp: ctx.now(), devices: keep };
    const signed = toB64(signDeviceList(m.keys, list));
    await request(ctx.socket(), EVENTS.devicesPublish, { from: m.account.address, list: signed });
    await checkDeviceList(db, m.account.address, m.keys.publicKey, signed, ctx.now());
    await db.deviceLists.update(m.account.address, { published: true });
  }
}

/**
 * On a linked device: the relay says this device was removed from `address`. Believed only if the list
 * opens under the account key, is newer than the one held, and leaves this device out; then everything of
 * this device goes (keys, accounts, history), and the app is back at first run. True when it wiped.
 */
export async function removedHere(ctx: EngineContext, payload: unknown, myDeviceOf: (address: Address) => string | undefined): Promise<boolean> {
  const { db } = ctx;
  const parsed = z.object({ address: z.string().max(200), list: b64 }).safeParse(payload);
  if (!parsed.success) return false;
  const address = parsed.data.address as Address;
  const account = await db.accounts.get(address);
  const deviceId = myDeviceOf(address);
  if (!account || !deviceId) return false;
  let list: DeviceList;
  try {
    list = openDeviceList(account.identityKey, address, fromB64(parsed.data.list));
  } catch {
    return false;
  }
  const held = await db.deviceLists.get(address);
  if ((held && list.version <= held.version) || list.devices.some((d) => d.deviceId === deviceId)) return false;
  await db.transaction("rw", db.tables, async () => {
    for (const table of db.tables) await table.clear();
  });
  return true;
}
