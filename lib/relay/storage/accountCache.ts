// Account records cached in memory (runtime: any; no I/O of its own beyond the store it wraps).
// Every mailbox:send reads the recipient accounts' device lists for the coverage check (stale_devices),
// two queries per account; most sends go to accounts whose devices have not changed for days. So
// `getAccount` answers from memory, and every write through this process that changes an account
// (registration, a linked device, a removal, a published device list) drops that account's entry once
// it is done. A read that raced the write may return what was there before, as it could uncached.
//
// Writes made by another relay process (several nodes on one Postgres database) are not seen here:
// there an entry lives `ttlMs` at most, which bounds how long this node checks sends against a device
// list another node has changed. One process on SQLite is the only writer, so entries live until a write.
import type { Address } from "../../brands";
import type {
  AccountRecord,
  AccountRegistration,
  EnvelopeRecord,
  EnvelopeRef,
  ExpiryCutoffs,
  KeysUpdate,
  MailboxQuotas,
  PrekeyCaps,
  RegisterMode,
  RelayStore,
} from "./types";

export interface AccountCacheOptions {
  /** How long an entry may be used; Infinity when this process is the database's only writer. */
  ttlMs: number;
  /** The most accounts held (default 20,000); the oldest entry goes first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  record: Promise<AccountRecord | null>;
  at: number;
}

class AccountCacheStore implements RelayStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly inner: RelayStore,
    private readonly opts: AccountCacheOptions,
  ) {
    this.maxEntries = opts.maxEntries ?? 20_000;
    this.now = opts.now ?? Date.now;
  }

  getAccount(address: Address): Promise<AccountRecord | null> {
    const now = this.now();
    const entry = this.entries.get(address);
    if (entry && now - entry.at < this.opts.ttlMs) return entry.record;
    // Concurrent reads of one account share the read; the callers get one frozen record.
    const record = this.inner.getAccount(address).then(freeze);
    const fresh = { record, at: now };
    this.entries.delete(address);
    this.entries.set(address, fresh);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    record.catch(() => this.entries.get(address) === fresh && this.entries.delete(address));
    return record;
  }

  /** Runs a write that changes `address`, then forgets what was cached of it (also when the write failed). */
  private async changing<T>(address: Address, write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      this.entries.delete(address);
    }
  }

  registerAccount(reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number) {
    return this.changing(reg.address, this.inner.registerAccount(reg, mode, maxAccountsPerDevice));
  }

  addCompanion(reg: AccountRegistration, list: { version: number; signed: string }, maxDevices: number) {
    return this.changing(reg.address, this.inner.addCompanion(reg, list, maxDevices));
  }

  removeDevices(address: Address, keep: readonly string[]) {
    return this.changing(address, this.inner.removeDevices(address, keep));
  }

  putDeviceList(address: Address, version: number, signed: string) {
    return this.changing(address, this.inner.putDeviceList(address, version, signed));
  }

  getDevice(deviceId: string) {
    return this.inner.getDevice(deviceId);
  }

  accountsOfDevice(deviceId: string) {
    return this.inner.accountsOfDevice(deviceId);
  }

  claimBundles(address: Address, deviceIds?: string[], opts?: { oneTime?: boolean }) {
    return this.inner.claimBundles(address, deviceIds, opts);
  }

  updateKeys(address: Address, deviceId: string, update: KeysUpdate, caps: PrekeyCaps) {
    return this.inner.updateKeys(address, deviceId, update, caps);
  }

  keyStatus(address: Address, deviceId: string) {
    return this.inner.keyStatus(address, deviceId);
  }

  storeEnvelopes(envelopes: EnvelopeRecord[], quotas: MailboxQuotas) {
    return this.inner.storeEnvelopes(envelopes, quotas);
  }

  pendingEnvelopes(deviceId: string, afterSeq: number, limit: number, maxBytes?: number) {
    return this.inner.pendingEnvelopes(deviceId, afterSeq, limit, maxBytes);
  }

  deleteEnvelopes(deviceId: string, refs: EnvelopeRef[]) {
    return this.inner.deleteEnvelopes(deviceId, refs);
  }

  deleteExpired(cutoffs: ExpiryCutoffs) {
    return this.inner.deleteExpired(cutoffs);
  }

  mailboxStats() {
    return this.inner.mailboxStats();
  }

  scrub() {
    return this.inner.scrub();
  }

  close() {
    this.entries.clear();
    return this.inner.close();
  }
}

/** The record is shared by every caller until the entry goes: nobody may change it. */
function freeze(record: AccountRecord | null): AccountRecord | null {
  if (!record) return null;
  Object.freeze(record.deviceIds);
  if (record.deviceList) Object.freeze(record.deviceList);
  return Object.freeze(record);
}

/** `store` with `getAccount` answered from memory; see the top of this file. */
export function withAccountCache(store: RelayStore, opts: AccountCacheOptions): RelayStore {
  return new AccountCacheStore(store, opts);
}
