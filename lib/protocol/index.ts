export * from "./auth";
export * from "./bytes";
export * from "./errors";
export * from "./events";
export * from "./limits";
export * as schemas from "./schemas";
