// Counters of everything the coordinator does: client ops, UFS calls by operation, cache
// hits and misses, sync and persist figures. Kept as plain numbers (cheap on hot paths),
// exported as the `fsadmin report` object and in Prometheus text format (prom-client).


export type CounterGroup = 'ops' | 'ufsCalls' | 'cache' | 'sync' | 'persist' | 'activeSync' | 'intents' | 'gateway';

/** A flat set of named counters per group. */
export class Metrics {
  readonly groups: Record<CounterGroup, Record<string, number>> = {
    ops: {}, ufsCalls: {}, cache: {}, sync: {}, persist: {}, activeSync: {}, intents: {}, gateway: {},
  };

  inc(group: CounterGroup, name: string, n = 1): void {
    const g = this.groups[group];
    g[name] = (g[name] ?? 0) + n;
  }

  get(group: CounterGroup, name: string): number {
    return this.groups[group][name] ?? 0;
  }

  /** Add counters reported by a worker thread. */
  merge(delta: Partial<Record<CounterGroup, Record<string, number>>>): void {
    for (const [group, counters] of Object.entries(delta) as Array<[CounterGroup, Record<string, number>]>) {
      for (const [name, n] of Object.entries(counters)) this.inc(group, name, n);
    }
  }

  /** A sink for InstrumentedUfs: counts one UFS call. */
  readonly ufsCall = (op: string, n = 1): void => this.inc('ufsCalls', op, n);

  /**
   * Prometheus exposition of the counters plus gauges given by `gauges()`. The registry is
   * rebuilt per scrape from the plain counters, so hot paths never touch prom-client.
   */
  async prometheus(gauges: Record<string, number>): Promise<string> {
    // Loaded on the first scrape only: the server (and each worker thread, which imports
    // CounterDelta) never pays prom-client's start-up cost unless metrics are used.
    const { Counter, Gauge, Registry } = await import('prom-client');
    const registry = new Registry();
    for (const [group, counters] of Object.entries(this.groups)) {
      const c = new Counter({ name: `strata_${snake(group)}_total`, help: `Strata ${group} counters`, labelNames: ['name'], registers: [registry] });
      for (const [name, n] of Object.entries(counters)) c.inc({ name }, n);
    }
    for (const [name, v] of Object.entries(gauges)) {
      const g = new Gauge({ name: `strata_${snake(name)}`, help: `Strata ${name}`, registers: [registry] });
      g.set(v);
    }
    return registry.metrics();
  }
}

function snake(s: string): string {
  return s.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/[^a-zA-Z0-9_]/g, '_').toLowerCase();
}

/** Counters collected inside a worker task, returned with its result. */
export class CounterDelta {
  readonly groups: Partial<Record<CounterGroup, Record<string, number>>> = {};
  inc(group: CounterGroup, name: string, n = 1): void {
    const g = (this.groups[group] ??= {});
    g[name] = (g[name] ?? 0) + n;
  }
  readonly ufsCall = (op: string, n = 1): void => this.inc('ufsCalls', op, n);
}
