// Which blob store a relay process uses: Postgres when the relay's own database is Postgres (so every
// node sees every blob), files under DATA_DIR/blobs otherwise; BLOB_STORE=files keeps files even on
// Postgres (for one node, or several sharing one directory).
import { join } from "node:path";
import { FileBlobStore } from "./files";
import { PostgresBlobStore } from "./postgres";
import type { BlobStore } from "./types";

export type { BlobStore } from "./types";

export async function openBlobStore(dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<BlobStore> {
  const url = env.DATABASE_URL;
  const choice = env.BLOB_STORE ?? (url && /^postgres(ql)?:\/\//.test(url) ? "postgres" : "files");
  if (choice === "files") return new FileBlobStore(join(dataDir, "blobs"));
  if (choice === "postgres") {
    if (!url) throw new Error("BLOB_STORE=postgres needs DATABASE_URL");
    return PostgresBlobStore.open(url, env.DATABASE_SCHEMA ? { schema: env.DATABASE_SCHEMA } : {});
  }
  throw new Error("BLOB_STORE must be files or postgres");
}
