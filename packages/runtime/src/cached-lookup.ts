// Name resolution for a peer (the web tier's API, the API's database) that never makes a request
// wait for DNS once the name has resolved: the last answer is used at once and refreshed in the background when older than
// `refreshMs`. The container engine's resolver (aardvark-dns before 1.9) drops queries while it
// reloads, which it does whenever a container starts or stops; the C library then retries only
// after 5 s, past the page's whole budget for the API (a rollout's new web replica answered 503
// after 3 s; new API replicas timed out connecting to the database). A name never resolved yet is looked up directly. A failed refresh keeps the last
// answer (the next connection retries it); a different answer replaces it within `refreshMs`, an
// address it did not have before first.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';

type Resolve = (hostname: string) => Promise<LookupAddress[]>;
type Callback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true } satisfies LookupAllOptions, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

interface Entry {
  addresses: LookupAddress[];
  at: number;
  refreshing: boolean;
}

/** A `lookup` for net.connect (undici's `connect.lookup`). */
export function cachedLookup(
  opts: { refreshMs?: number; resolve?: Resolve; now?: () => number } = {},
): (hostname: string, options: LookupOptions, callback: Callback) => void {
  const { refreshMs = 1000, resolve = systemResolve, now = Date.now } = opts;
  const cache = new Map<string, Entry>();
  const fetchInto = async (hostname: string): Promise<LookupAddress[]> => {
    const answered = await resolve(hostname);
    if (answered.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
    // A peer that moved (a restarted balancer) is answered at both addresses for a few seconds: the
    // removed one lingers in the engine's resolver. The address new in this answer goes first.
    const known = new Set(cache.get(hostname)?.addresses.map((a) => a.address));
    const addresses = [
      ...answered.filter((a) => !known.has(a.address)),
      ...answered.filter((a) => known.has(a.address)),
    ];
    cache.set(hostname, { addresses, at: now(), refreshing: false });
    return addresses;
  };
  const answer = (all: LookupAddress[], options: LookupOptions, callback: Callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const fit = family ? all.filter((a) => a.family === family) : all;
    if (fit.length === 0) {
      callback(Object.assign(new Error(`no IPv${family} address`), { code: 'ENOTFOUND' }), '');
    } else if (options.all) {
      callback(null, fit);
    } else {
      callback(null, fit[0]!.address, fit[0]!.family);
    }
  };

  return (hostname, options, callback) => {
    const entry = cache.get(hostname);
    if (!entry) {
      fetchInto(hostname).then(
        (all) => answer(all, options, callback),
        (err: NodeJS.ErrnoException) => callback(err, ''),
      );
      return;
    }
    answer(entry.addresses, options, callback);
    if (!entry.refreshing && now() - entry.at >= refreshMs) {
      entry.refreshing = true;
      fetchInto(hostname).catch(() => {
        entry.refreshing = false;
      });
    }
  };
}
