import type { FC } from 'hono/jsx';
import { niceCeiling, polylinePoints, type ChartsModel, type Series } from './chart-model.ts';

const WIDTH = 400;
const HEIGHT = 120;
/** Distinct, print-safe line colours; series take them in order. */
const PALETTE = ['#0a4fc2', '#b3001b', '#0b6b2d', '#8a5a00', '#5b1fa8', '#00707a', '#c2410c', '#4a5361'];

/**
 * The last minutes of this node's view of the cluster, as inline SVG drawn on the server with
 * the rest of the live panels (no script, no external asset): events/s per node and per shard,
 * the write queue and transaction time, and how far this node's copy trails the newest commit.
 */
export const Charts: FC<{ charts: ChartsModel }> = ({ charts }) => {
  const minutes = Math.max(0, (charts.to - charts.from) / 60_000);
  const span = minutes >= 1 ? `last ${minutes.toFixed(1)} min` : `last ${Math.round(minutes * 60)} s`;
  return (
    <section class="charts" aria-label="charts">
      <LineChart id="events-by-node" title="Events/s per node" unit="events/s" span={span} charts={charts} series={charts.eventsByNode} />
      <LineChart id="events-by-shard" title="Events/s per shard" unit="events/s" span={span} charts={charts} series={charts.eventsByShard} />
      <LineChart
        id="queue"
        title={charts.isPrimary ? 'Write funnel queue' : 'Writes waiting for the primary'}
        unit="rows"
        span={span}
        charts={charts}
        series={charts.queue ? [charts.queue] : []}
      />
      {charts.transactionMs ? (
        <LineChart id="transaction-ms" title="Funnel transaction time" unit="ms" span={span} charts={charts} series={[charts.transactionMs]} />
      ) : (
        <div class="chart" data-chart="transaction-ms">
          <h3>Funnel transaction time</h3>
          <div class="empty">Only the primary commits: open its dashboard.</div>
        </div>
      )}
      <LineChart id="staleness" title={charts.isPrimary ? 'Newest commit age (primary)' : 'Replica staleness'} unit="ms" span={span} charts={charts} series={charts.staleness ? [charts.staleness] : []} />
    </section>
  );
};

const LineChart: FC<{ id: string; title: string; unit: string; span: string; charts: ChartsModel; series: readonly Series[] }> = ({ id, title, unit, span, charts, series }) => {
  const drawn = series.filter((s) => s.points.length > 0);
  const max = Math.max(0, ...drawn.flatMap((s) => s.points.map((p) => p.value)));
  const top = niceCeiling(max);
  const latest = drawn.map((s) => ({ name: s.name, value: s.points[s.points.length - 1]!.value }));
  const box = { width: WIDTH, height: HEIGHT, from: charts.from, to: charts.to, top };
  return (
    <div class="chart" data-chart={id}>
      <h3>{title}</h3>
      {drawn.length === 0 ? (
        <div class="empty">Not enough samples yet (one every 2 s).</div>
      ) : (
        <>
          <svg viewBox={`-44 -8 ${WIDTH + 52} ${HEIGHT + 26}`} role="img" aria-label={`${title}, ${span}: ${latest.map((l) => `${l.name} ${format(l.value)} ${unit}`).join(', ')}`}>
            <title>{`${title} (${span})`}</title>
            <line class="axis" x1="0" y1={HEIGHT} x2={WIDTH} y2={HEIGHT} />
            <line class="grid" x1="0" y1="0" x2={WIDTH} y2="0" />
            <line class="grid" x1="0" y1={HEIGHT / 2} x2={WIDTH} y2={HEIGHT / 2} />
            <text class="tick" x="-6" y="4" text-anchor="end">
              {format(top)}
            </text>
            <text class="tick" x="-6" y={HEIGHT / 2 + 4} text-anchor="end">
              {format(top / 2)}
            </text>
            <text class="tick" x="-6" y={HEIGHT + 4} text-anchor="end">
              0
            </text>
            <text class="tick" x="0" y={HEIGHT + 16}>
              {span}
            </text>
            <text class="tick" x={WIDTH} y={HEIGHT + 16} text-anchor="end">
              now ({unit})
            </text>
            {drawn.map((s, i) => {
              const points = polylinePoints(s.points, box);
              // The newest point marked, so a series of one sample still shows.
              const [x, y] = points.slice(points.lastIndexOf(' ') + 1).split(',');
              return (
                <>
                  <polyline data-series={s.name} fill="none" stroke={PALETTE[i % PALETTE.length]} stroke-width="2" points={points} />
                  <circle cx={x} cy={y} r="3" fill={PALETTE[i % PALETTE.length]} />
                </>
              );
            })}
          </svg>
          <ul class="legend">
            {latest.map((l, i) => (
              <li>
                <svg class="swatch" viewBox="0 0 10 10" aria-hidden="true">
                  <rect width="10" height="10" fill={PALETTE[i % PALETTE.length]} />
                </svg>
                {l.name} <strong class="num">{format(l.value)}</strong>
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
};

function format(value: number): string {
  if (value >= 10_000) return `${Math.round(value / 1000)}k`;
  if (value >= 1_000) return `${(value / 1000).toFixed(1)}k`;
  return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

/** The charts' style, added to the page's one inline stylesheet. */
export const CHARTS_CSS = `
.charts { display:grid; grid-template-columns:repeat(auto-fill,minmax(330px,1fr)); gap:12px; }
.chart { background:var(--paper); border:2px solid var(--line); border-radius:8px; padding:8px 12px; }
.chart h3 { margin:0 0 4px; font-size:15px; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); }
.chart svg { width:100%; height:auto; display:block; }
.chart .axis { stroke:var(--line); stroke-width:1.5; }
.chart .grid { stroke:#c8ccd2; stroke-width:1; stroke-dasharray:3 3; }
.chart .tick { font-size:11px; fill:var(--muted); }
.chart .legend { list-style:none; margin:4px 0 0; padding:0; display:flex; flex-wrap:wrap; gap:4px 12px; font-size:13px; }
.chart .legend li { display:flex; align-items:center; gap:5px; }
.chart .swatch { width:10px; height:10px; }
`;
