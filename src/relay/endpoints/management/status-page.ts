/** A small HTML status page: entities, listener counts, pending calls. */
import type { RelayContext } from '../../context';

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export async function renderStatusPage(ctx: RelayContext): Promise<string> {
  const entities = await ctx.store.listEntities();
  const rows = entities
    .map((e) => {
      const listeners = ctx.registry.list(e.path);
      const healthy = listeners.filter((l) => l.healthy).length;
      return `<tr><td>${esc(e.path)}</td><td>${listeners.length}</td><td>${healthy}</td><td>${
        e.requiresClientAuthorization ? 'token' : 'anonymous'
      }</td><td>${esc(e.updatedAt)}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>relaybridge status</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>
</head><body>
<h1>relaybridge</h1>
<p>Node <b>${esc(ctx.config.nodeId)}</b> · ${ctx.pendingRequests.size} HTTP calls in flight · ${ctx.pendingAccepts.size} WebSocket accepts pending</p>
<table><thead><tr><th>hybrid connection</th><th>listeners</th><th>healthy</th><th>senders</th><th>updated</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="5">no hybrid connections yet</td></tr>'}
</tbody></table>
<p><a href="/$metrics">metrics</a> · <a href="/$health">health</a></p>
</body></html>`;
}
