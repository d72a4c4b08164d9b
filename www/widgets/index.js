// The widget kit in one script tag: <script type="module" src=".../widgets/index.js">
// registers every element; the classes are exported for pages that extend or test them.
import { Heatmap } from './heatmap.js';
import { AttentionPattern } from './attention-pattern.js';
import { Bars } from './bars.js';
import { Lines } from './lines.js';
import { Scatter } from './scatter.js';
import { TokenInput } from './token-input.js';
import { BackendStatus } from './backend-status.js';
import { Timeline } from './timeline.js';
import { TrainPanel } from './train-panel.js';
import { Stats } from './stats.js';
import { Text } from './text.js';
import { Table } from './table.js';
import { Claims } from './claims.js';

export { ToylensFigure } from './base.js';
export { Heatmap, AttentionPattern, Bars, Lines, Scatter, TokenInput, BackendStatus, Timeline, TrainPanel, Stats, Text, Table, Claims };

const ELEMENTS = {
  'tl-heatmap': Heatmap,
  'tl-attention': AttentionPattern,
  'tl-bars': Bars,
  'tl-lines': Lines,
  'tl-scatter': Scatter,
  'tl-token-input': TokenInput,
  'tl-backend': BackendStatus,
  'tl-timeline': Timeline,
  'tl-train-panel': TrainPanel,
  'tl-stats': Stats,
  'tl-text': Text,
  'tl-table': Table,
  'tl-claims': Claims,
};

// A second copy of the kit on one page (another URL) must not throw on define.
for (const [tag, cls] of Object.entries(ELEMENTS)) {
  if (!customElements.get(tag)) customElements.define(tag, cls);
}
