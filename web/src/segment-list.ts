/**
 * A virtualized list of transcript segments for long recordings (a 3-hour talk is ~3,000 segments, ~30,000
 * words). Segments are grouped in blocks of BLOCK; a block far from the viewport is an empty placeholder of its
 * estimated (or, once seen, measured) height, and is rendered when it comes within MARGIN of the viewport.
 * Blocks that scroll far away are emptied again, so the DOM stays a few hundred elements whatever the length.
 * Chromium's scroll anchoring keeps the view still when a block above changes height.
 */
export const BLOCK = 25;
const MARGIN = '1200px 0px';

export interface SegmentListOptions {
  /** Build the element of item `index` (it must carry the markup contract: data-start, data-end, data-speaker). */
  render(index: number): HTMLElement;
  /** Estimated height of item `index` in px, before it was ever rendered. */
  estimate(index: number): number;
  /** Blocks holding these indexes are never emptied (the current and the edited segment). */
  pinned(): readonly number[];
}

interface Block {
  readonly el: HTMLElement;
  readonly from: number;
  readonly to: number;
  rendered: boolean;
  height: number;
}

export class SegmentList {
  private blocks: Block[] = [];
  private observer: IntersectionObserver;

  constructor(
    private readonly container: HTMLElement,
    private count: number,
    private readonly opts: SegmentListOptions,
  ) {
    this.observer = new IntersectionObserver((entries) => this.onIntersect(entries), { root: container, rootMargin: MARGIN });
    this.build();
  }

  /** Rebuild for `count` items (after an edit that changed order or length). */
  reset(count: number): void {
    this.count = count;
    this.observer.disconnect();
    this.build();
  }

  /** The element of item `index`, rendering its block when needed. */
  ensure(index: number): HTMLElement | undefined {
    const block = this.blocks[Math.floor(index / BLOCK)];
    if (!block) return undefined;
    if (!block.rendered) this.fill(block);
    return block.el.children[index - block.from] as HTMLElement | undefined;
  }

  /** The element of item `index` when its block is rendered. */
  element(index: number): HTMLElement | undefined {
    const block = this.blocks[Math.floor(index / BLOCK)];
    return block?.rendered ? (block.el.children[index - block.from] as HTMLElement | undefined) : undefined;
  }

  /** Re-render one item in place (after an edit that changed only it). */
  update(index: number): void {
    const old = this.element(index);
    old?.replaceWith(this.opts.render(index));
  }

  /** Re-render every rendered block (speaker colours, search marks, translation column). */
  refresh(): void {
    for (const b of this.blocks) if (b.rendered) this.fill(b);
  }

  destroy(): void {
    this.observer.disconnect();
  }

  private build(): void {
    const blocks: Block[] = [];
    const frag = document.createDocumentFragment();
    for (let from = 0; from < this.count; from += BLOCK) {
      const to = Math.min(this.count, from + BLOCK);
      let height = 0;
      for (let k = from; k < to; k++) height += this.opts.estimate(k);
      const el = document.createElement('div');
      el.className = 'block';
      el.setAttribute('role', 'presentation');
      el.style.height = `${height}px`;
      blocks.push({ el, from, to, rendered: false, height });
      frag.append(el);
    }
    this.blocks = blocks;
    this.container.replaceChildren(frag);
    for (const b of blocks) this.observer.observe(b.el);
  }

  private fill(block: Block): void {
    const items: HTMLElement[] = [];
    for (let k = block.from; k < block.to; k++) items.push(this.opts.render(k));
    block.el.replaceChildren(...items);
    block.el.style.height = '';
    block.rendered = true;
  }

  private empty(block: Block): void {
    const pinned = this.opts.pinned();
    if (pinned.some((k) => k >= block.from && k < block.to)) return;
    block.height = block.el.offsetHeight || block.height;
    block.el.style.height = `${block.height}px`;
    block.el.replaceChildren();
    block.rendered = false;
  }

  private onIntersect(entries: IntersectionObserverEntry[]): void {
    for (const e of entries) {
      const block = this.blocks.find((b) => b.el === e.target);
      if (!block) continue;
      if (e.isIntersecting && !block.rendered) this.fill(block);
      else if (!e.isIntersecting && block.rendered) this.empty(block);
    }
  }
}
