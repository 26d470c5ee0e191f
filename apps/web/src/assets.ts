// Static files from apps/web/public: loaded into memory at start-up, each served at its plain path
// (short cache, for the original app's contract) and at a content-hashed path (cached forever).
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** apps/web/public, both from src/ (tests through tsx) and from dist/ (production). */
export const DEFAULT_PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** Plain paths may change on deploy, so caches keep them only briefly. */
export const SHORT_CACHE = 'public, max-age=60';

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.js': 'text/javascript; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface Asset {
  /** URL path without fingerprint, e.g. /stylesheets/style.css */
  readonly plainPath: string;
  /** URL path with the content hash, e.g. /stylesheets/style.1a2b3c4d5e6f.css */
  readonly fingerprintedPath: string;
  readonly contentType: string;
  readonly etag: string;
  readonly body: Buffer;
}

export class AssetCatalog {
  private readonly byPlainPath = new Map<string, Asset>();

  constructor(assets: Asset[]) {
    for (const asset of assets) this.byPlainPath.set(asset.plainPath, asset);
  }

  get all(): Asset[] {
    return [...this.byPlainPath.values()];
  }

  /** The fingerprinted URL for a plain path; a missing file is a start-up error, not a broken page. */
  url(plainPath: string): string {
    const asset = this.byPlainPath.get(plainPath);
    if (!asset) throw new Error(`static asset ${plainPath} is missing from the public directory`);
    return asset.fingerprintedPath;
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

export async function loadAssets(publicDir = DEFAULT_PUBLIC_DIR): Promise<AssetCatalog> {
  const assets: Asset[] = [];
  for (const file of await listFiles(publicDir)) {
    const ext = extname(file);
    const contentType = CONTENT_TYPES[ext];
    if (!contentType) continue; // unknown types are not published (no guessing, no sniffing)
    const body = await readFile(file);
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    const plainPath = `/${relative(publicDir, file).split(sep).join(posix.sep)}`;
    const fingerprintedPath = `${plainPath.slice(0, -ext.length)}.${hash}${ext}`;
    assets.push({ plainPath, fingerprintedPath, contentType, etag: `"${hash}"`, body });
  }
  return new AssetCatalog(assets);
}

function sendAsset(asset: Asset, cacheControl: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('content-type', asset.contentType).header('cache-control', cacheControl).header('etag', asset.etag);
    if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };
}

/** One static route per file and form (HEAD comes with GET): a bounded set of metric labels. */
export function registerAssetRoutes(app: FastifyInstance, catalog: AssetCatalog): void {
  for (const asset of catalog.all) {
    app.get(asset.plainPath, sendAsset(asset, SHORT_CACHE));
    app.get(asset.fingerprintedPath, sendAsset(asset, IMMUTABLE_CACHE));
  }
}
