import type { SoundlakeApp } from '../app/soundlakeApp.js';
import { LagProbe } from './tableLag.js';

const probes = new WeakMap<SoundlakeApp, LagProbe>();

/** One lag probe per app (per worker): its cache is what keeps a refreshing page from querying the source each time. */
export function lagProbe(app: SoundlakeApp): LagProbe {
  let probe = probes.get(app);
  if (!probe) {
    probe = new LagProbe(app.sources);
    probes.set(app, probe);
  }
  return probe;
}
