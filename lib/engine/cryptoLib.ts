// The engine's one door to lib/crypto. The layer rules list Node's "crypto" module as a bare pattern,
// which also matches our own lib/crypto folder; the single exemption lives here instead of in every file.
// eslint-disable-next-line no-restricted-imports -- lib/crypto is the pure protocol library, not Node's crypto
export * from "../crypto";
