// `strata fsadmin`: administration of a running server — per-path configuration
// (`pathConf add|list|remove`, longest matching prefix wins) and `report`, the counters of
// UFS calls, cache, metadata sync and the persist queue.

import { Command } from 'commander';
import { validateProperty } from '../config/keys.js';
import { formatReport, formatTable, usage, usageError, writeTo } from './format.js';
import { addClientOptions, clientAction } from './context.js';
import type { ClientContext } from './context.js';

const out = (s: string): Promise<void> => writeTo(process.stdout, s);
const printJson = (v: unknown): Promise<void> => out(JSON.stringify(v) + '\n');

/** Parse and validate `--property KEY=VALUE` entries as per-path configuration. */
export function parsePathProperties(list: readonly string[]): Record<string, string> {
  if (list.length === 0) throw usageError('pathConf add: give at least one --property KEY=VALUE');
  const props: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw usageError(`--property: ${JSON.stringify(kv)} is not KEY=VALUE`);
    const key = kv.slice(0, i).trim();
    const value = kv.slice(i + 1).trim();
    try {
      validateProperty(key, value, 'path');
    } catch (err) {
      throw usage(err);
    }
    props[key] = value;
  }
  return props;
}

async function add(ctx: ClientContext, path: string): Promise<void> {
  const props = parsePathProperties((ctx.opts.property as string[] | undefined) ?? []);
  await (await ctx.fs()).setPathConf(path, props);
  await (ctx.json ? printJson({ path, properties: props }) : out(`Set ${Object.entries(props).map(([k, v]) => `${k}=${v}`).join(' ')} on ${path}\n`));
}

async function list(ctx: ClientContext): Promise<void> {
  const entries = await (await ctx.fs()).listPathConf();
  if (ctx.json) return printJson(entries);
  if (entries.length === 0) return out('No path configuration\n');
  await out(formatTable(entries.map((e) => [e.path, Object.entries(e.properties).map(([k, v]) => `${k}=${v}`).join(' ')])));
}

async function remove(ctx: ClientContext, path: string): Promise<void> {
  await (await ctx.fs()).removePathConf(path);
  await (ctx.json ? printJson({ ok: true }) : out(`Removed the path configuration of ${path}\n`));
}

async function report(ctx: ClientContext): Promise<void> {
  const r = await (await ctx.fs()).getReport();
  await (ctx.json ? printJson(r) : out(formatReport(r)));
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The `fsadmin` command group. */
export function fsadminCommand(): Command {
  const admin = addClientOptions(new Command('fsadmin')).description('administration of a running strata server');
  const pathConf = admin.command('pathConf').description('per-path configuration (longest matching path wins)');
  pathConf.command('add <path>')
    .description('set configuration keys for a path and everything under it')
    .option('--property <key=value>', 'a configuration key (repeatable), e.g. metadata.sync.interval=1min', collect, [])
    .addHelpText('after', '\nExample:\n  $ strata fsadmin pathConf add --property metadata.sync.interval=0 --property write.type=THROUGH /data/hot')
    .action(clientAction(add));
  pathConf.command('list').description('list the per-path configuration').action(clientAction(list));
  pathConf.command('remove <path>').description('remove the configuration of a path').action(clientAction(remove));
  admin.command('report')
    .description('counters: UFS calls by operation, cache hits/misses/used/capacity, sync, persist queue')
    .action(clientAction(report));
  return admin;
}
