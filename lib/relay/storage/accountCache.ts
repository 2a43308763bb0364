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
import type { AccountRecord, AccountRegistration, RegisterMode, RelayStore } from "./types";
import { ForwardingStore } from "./forwarding";

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

class AccountCacheStore extends ForwardingStore {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    inner: RelayStore,
    private readonly opts: AccountCacheOptions,
  ) {
    super(inner);
    this.maxEntries = opts.maxEntries ?? 20_000;
    this.now = opts.now ?? Date.now;
  }

  override getAccount(address: Address): Promise<AccountRecord | null> {
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

  override registerAccount(reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number) {
    return this.changing(reg.address, this.inner.registerAccount(reg, mode, maxAccountsPerDevice));
  }

  override addCompanion(reg: AccountRegistration, list: { version: number; signed: string }, maxDevices: number) {
    return this.changing(reg.address, this.inner.addCompanion(reg, list, maxDevices));
  }

  override removeDevices(address: Address, keep: readonly string[]) {
    return this.changing(address, this.inner.removeDevices(address, keep));
  }

  override putDeviceList(address: Address, version: number, signed: string) {
    return this.changing(address, this.inner.putDeviceList(address, version, signed));
  }

  override close() {
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
