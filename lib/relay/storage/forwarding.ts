// A RelayStore that passes every call to the store it wraps (runtime: any; no I/O of its own). The
// store's wrappers (the account cache, group commit) extend it and override only what they change, so
// a method added to RelayStore is forwarded in one place.
import type { Address } from "../../brands";
import type { AccountRegistration, EnvelopeRecord, EnvelopeRef, ExpiryCutoffs, KeysUpdate, MailboxQuotas, PrekeyCaps, RegisterMode, RelayStore } from "./types";

export abstract class ForwardingStore<Inner extends RelayStore = RelayStore> implements RelayStore {
  constructor(protected readonly inner: Inner) {}

  getDevice(deviceId: string) {
    return this.inner.getDevice(deviceId);
  }

  registerAccount(reg: AccountRegistration, mode: RegisterMode, maxAccountsPerDevice: number) {
    return this.inner.registerAccount(reg, mode, maxAccountsPerDevice);
  }

  addCompanion(reg: AccountRegistration, list: { version: number; signed: string }, maxDevices: number) {
    return this.inner.addCompanion(reg, list, maxDevices);
  }

  removeDevices(address: Address, keep: readonly string[]) {
    return this.inner.removeDevices(address, keep);
  }

  accountsOfDevice(deviceId: string) {
    return this.inner.accountsOfDevice(deviceId);
  }

  getAccount(address: Address) {
    return this.inner.getAccount(address);
  }

  putDeviceList(address: Address, version: number, signed: string) {
    return this.inner.putDeviceList(address, version, signed);
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
    return this.inner.close();
  }
}
