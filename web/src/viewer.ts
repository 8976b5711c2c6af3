/**
 * The transcript viewer: the stored source plays (range requests), the current segment is highlighted and
 * followed, clicking a segment or a word seeks, speakers have colours and can be renamed everywhere at once,
 * search marks hits on a timeline, translations sit beside the text, summary/extraction/answer have panels,
 * suspect segments and warnings show, and segments can be corrected in place (each save is a new revision).
 *
 * Keyboard (outside text fields): Space play/pause · j or ↓ next segment · k or ↑ previous · e edit · / search.
 */
import { ApiError, downloadUrl, formatOf, getJob, getTranscript, mediaUrl, RESULT_FORMATS, saveEdit, type Segment, type Transcript, type TranscriptEdit } from './api.js';
import { clock, h, secondsText, speakerColour, typing } from './dom.js';
import { header } from './jobs.js';
import { SegmentList } from './segment-list.js';

const VIDEO = /\.(mp4|m4v|mov|webm|mkv)$/i;

export async function renderViewer(root: HTMLElement, jobId: string): Promise<() => void> {
  const [job, loaded] = await Promise.all([getJob(jobId), getTranscript(jobId)]);
  performance.mark('voxpipe:transcript-loaded');
  let t: Transcript = loaded;
  let segs: Segment[] = [];
  let starts: Float64Array = new Float64Array();
  let wordsOf: (readonly { word: string; start: number }[] | undefined)[] = [];
  let speakers: string[] = [];
  let current = -1;
  let editing = -1;
  let query = '';
  let hits: number[] = [];
  let hitCursor = -1;
  let translation = '';
  let lastUserScroll = 0;

  const player = h(VIDEO.test(job.source.key) ? 'video' : 'audio', { id: 'player', controls: true, preload: 'metadata', src: mediaUrl(jobId) }) as HTMLMediaElement;
  const follow = h('input', { type: 'checkbox', id: 'follow', checked: true });
  const search = h('input', { type: 'search', id: 'search', placeholder: 'Search the transcript', 'aria-label': 'Search the transcript', autocomplete: 'off' });
  const hitCount = h('span', { class: 'small muted', id: 'hit-count', 'aria-live': 'polite' });
  const prevHit = h('button', { type: 'button', class: 'plain', 'aria-label': 'Previous hit' }, '‹');
  const nextHit = h('button', { type: 'button', class: 'plain', 'aria-label': 'Next hit' }, '›');
  const langs = Object.keys(t.translations ?? {});
  const trSelect = h('select', { id: 'translation', 'aria-label': 'Translation shown beside the text' }, h('option', { value: '' }, 'No translation'), ...langs.map((l) => h('option', { value: l }, `Translation: ${l}`)));
  const timeline = h('div', { class: 'timeline', id: 'timeline', role: 'slider', 'aria-label': 'Timeline', 'aria-valuemin': 0, 'aria-valuemax': Math.round(t.durationSeconds), 'aria-valuenow': 0, tabindex: 0 });
  const playhead = h('div', { class: 'playhead' });
  const list = h('div', { class: 'segments', id: 'transcript', role: 'list', 'aria-label': 'Transcript' });
  const status = h('p', { class: 'status small', id: 'status', role: 'status' });
  const title = h('h1', { class: 'title' }, job.source.key.slice(job.source.key.lastIndexOf('/') + 1));
  const revision = h('span', { class: 'muted small', id: 'revision' });
  const side = h('aside', { class: 'side' });
  const warnings = h('section', { class: 'warnings', id: 'warnings', 'aria-label': 'Warnings' });

  const downloads = h('nav', { class: 'downloads', 'aria-label': 'Downloads' }, ...RESULT_FORMATS.map((ext) => h('a', { href: downloadUrl(jobId, ext), download: `${jobId}.${ext}`, class: 'button' }, formatOf(ext).label)));
  root.append(
    header(h('a', { href: '#/', class: 'back' }, '← Jobs')),
    h(
      'main',
      { class: 'viewer' },
      h('div', { class: 'viewer-head' }, title, revision, h('span', { class: 'spacer' }), downloads),
      warnings,
      h(
        'div',
        { class: 'player-bar' },
        player,
        h('div', { class: 'controls' }, search, prevHit, nextHit, hitCount, langs.length ? trSelect : null, h('label', { class: 'small' }, follow, ' Follow playback')),
        timeline,
        status,
      ),
      h('div', { class: 'viewer-body' }, list, side),
      h('p', { class: 'small muted keys' }, 'Keys: Space play/pause · j/↓ next segment · k/↑ previous · e edit · / search · Esc cancel'),
    ),
  );
  timeline.append(playhead);

  const segmentList = new SegmentList(list, 0, {
    render: renderSegment,
    estimate: (k) => 34 + 22 * Math.floor(((segs[k]?.text.length ?? 0) * (translation ? 2 : 1)) / 90),
    pinned: () => [current, editing],
  });

  function index(): void {
    segs = [...t.segments].sort((a, b) => a.start - b.start || a.id - b.id);
    starts = Float64Array.from(segs, (s) => s.start);
    speakers = [];
    for (const s of segs) if (s.speaker !== undefined && !speakers.includes(s.speaker)) speakers.push(s.speaker);
    // Words by segment (by midpoint), used when they line up one to one with the segment's tokens.
    const buckets: { word: string; start: number }[][] = segs.map(() => []);
    for (const w of t.words ?? []) {
      const k = at((w.start + w.end) / 2);
      if (k >= 0 && (w.start + w.end) / 2 <= (segs[k] as Segment).end) buckets[k]?.push(w);
    }
    wordsOf = segs.map((s, k) => {
      const b = buckets[k] as { word: string; start: number }[];
      return b.length > 0 && b.length === s.text.split(/\s+/).filter(Boolean).length ? b : undefined;
    });
    revision.textContent = t.revision ? `revision ${t.revision.number} · edited ${new Date(t.revision.editedAt).toLocaleString()}` : 'original';
    current = -1;
    segmentList.reset(segs.length);
    segmentList.ensure(0);
    computeHits();
    drawSide();
    drawWarnings();
  }

  /** Index of the last segment starting at or before `time` (-1 before the first). */
  function at(time: number): number {
    let lo = 0;
    let hi = starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] as number) <= time) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Start of the word under the point in segment `k`'s text, when the segment has word timings. */
  function wordAt(k: number, textEl: HTMLElement, x: number, y: number): number | undefined {
    const words = wordsOf[k];
    if (!words) return undefined;
    const pos = document.caretPositionFromPoint?.(x, y);
    const legacy = pos ? undefined : document.caretRangeFromPoint?.(x, y);
    const node = pos?.offsetNode ?? legacy?.startContainer;
    const offset = pos?.offset ?? legacy?.startOffset ?? 0;
    if (!node || !textEl.contains(node)) return undefined;
    const range = document.createRange();
    range.setStart(textEl, 0);
    range.setEnd(node, offset);
    const before = range.toString();
    const tokens = before.split(/\s+/).filter(Boolean).length;
    // Inside a word the prefix ends in its first letters (that word's index); after a space, the next word.
    const index = /\s$/.test(before) || before === '' ? tokens : tokens - 1;
    return words[Math.min(words.length - 1, Math.max(0, index))]?.start;
  }

  function translationOf(s: Segment): string | undefined {
    const tr = translation ? t.translations?.[translation] : undefined;
    return tr?.status === 'ok' ? tr.segments.find((x) => x.id === s.id)?.text : undefined;
  }

  function renderSegment(k: number): HTMLElement {
    const s = segs[k] as Segment;
    const colour = speakerColour(speakers, s.speaker);
    const el = h('div', {
      class: `seg${k === current ? ' current' : ''}${s.suspect ? ' suspect' : ''}${hits.includes(k) ? ' hit' : ''}${translation ? ' with-tr' : ''}`,
      role: 'listitem',
      tabindex: -1,
      'data-start': s.start,
      'data-end': s.end,
      'data-speaker': s.speaker ?? '',
      'data-id': s.id,
      'data-index': k,
      'aria-current': k === current ? 'true' : undefined,
    });
    el.style.setProperty('--spk', colour);
    if (k === editing) {
      el.append(editor(s));
      return el;
    }
    // One text node per segment (search hits aside): a 3-hour transcript stays light. A click on a word is
    // resolved to the word from the caret position (see wordAt).
    const text = h('p', { class: 'text' });
    const q = query.toLowerCase();
    if (q && s.text.toLowerCase().includes(q)) {
      for (const token of s.text.split(/(\s+)/)) text.append(token && !/^\s+$/.test(token) && token.toLowerCase().includes(q) ? h('mark', {}, token) : token);
    } else text.textContent = s.text;
    el.append(
      h('button', { type: 'button', class: 'time', 'data-seek': s.start, 'aria-label': `Play from ${clock(s.start)}` }, clock(s.start)),
      h('span', { class: 'speaker' }, s.speaker ?? ''),
      text,
    );
    const tr = translationOf(s);
    if (translation) el.append(h('p', { class: 'translation', lang: translation }, tr ?? ''));
    if (s.suspect) el.append(h('span', { class: 'badge', title: s.suspectReason ?? 'the accuracy checks flagged this segment' }, `Check: ${s.suspectReason ?? 'flagged by the accuracy checks (see Warnings)'}`));
    el.append(h('button', { type: 'button', class: 'edit plain small', 'aria-label': `Edit segment at ${clock(s.start)}` }, 'Edit'));
    return el;
  }

  function editor(s: Segment): HTMLElement {
    const text = h('textarea', { class: 'edit-text', rows: 2, 'aria-label': 'Segment text' });
    text.value = s.text;
    const start = h('input', { type: 'number', class: 'edit-start', step: '0.01', min: '0', value: secondsText(s.start), 'aria-label': 'Start (seconds)' });
    const end = h('input', { type: 'number', class: 'edit-end', step: '0.01', min: '0', value: secondsText(s.end), 'aria-label': 'End (seconds)' });
    const save = h('button', { type: 'submit', class: 'save' }, 'Save');
    const cancel = h('button', { type: 'button', class: 'cancel plain' }, 'Cancel');
    const form = h('form', { class: 'editor' }, text, h('div', { class: 'row' }, h('label', {}, 'Start ', start), h('label', {}, 'End ', end), save, cancel));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const change: { id: number; text?: string; start?: number; end?: number } = { id: s.id };
      if (text.value.trim() !== s.text) change.text = text.value;
      if (Number(start.value) !== Math.round(s.start * 100) / 100) change.start = Number(start.value);
      if (Number(end.value) !== Math.round(s.end * 100) / 100) change.end = Number(end.value);
      if (Object.keys(change).length === 1) return stopEditing();
      save.disabled = true;
      await commit({ baseRevision: t.revision?.number ?? 0, segments: [change] });
    });
    cancel.addEventListener('click', () => stopEditing());
    form.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') stopEditing();
    });
    queueMicrotask(() => text.focus());
    return form;
  }

  async function commit(edit: TranscriptEdit): Promise<void> {
    status.textContent = 'Saving…';
    try {
      t = await saveEdit(jobId, edit);
      editing = -1;
      const keep = player.currentTime;
      index();
      setCurrent(at(keep), false);
      status.textContent = `Saved revision ${t.revision?.number ?? 0}. SRT, VTT and TXT were re-rendered.`;
    } catch (err) {
      status.textContent = err instanceof ApiError && err.status === 409 ? `Not saved: ${err.message}` : `Not saved: ${(err as Error).message}`;
      segmentList.update(editing);
    }
  }

  function startEditing(k: number): void {
    if (k < 0 || k >= segs.length) return;
    const before = editing;
    editing = k;
    if (before >= 0) segmentList.update(before);
    segmentList.ensure(k);
    segmentList.update(k);
  }

  function stopEditing(): void {
    const k = editing;
    editing = -1;
    if (k >= 0) {
      segmentList.update(k);
      segmentList.element(k)?.focus();
    }
  }

  function setCurrent(k: number, scroll: boolean): void {
    if (k === current) return;
    const old = segmentList.element(current);
    old?.classList.remove('current');
    old?.removeAttribute('aria-current');
    current = k;
    if (k < 0) return;
    const el = segmentList.ensure(k);
    el?.classList.add('current');
    el?.setAttribute('aria-current', 'true');
    if (scroll && el && follow.checked && Date.now() - lastUserScroll > 3000) {
      const box = list.getBoundingClientRect();
      const r = el.getBoundingClientRect();
      if (r.top < box.top || r.bottom > box.bottom) list.scrollTop += r.top - box.top - box.height / 3;
    }
  }

  function seek(time: number): void {
    player.currentTime = Math.max(0, time);
    setCurrent(at(time + 1e-3), true);
    drawPlayhead();
  }

  function step(delta: number): void {
    const k = Math.min(segs.length - 1, Math.max(0, (current < 0 ? at(player.currentTime) : current) + delta));
    const s = segs[k];
    if (!s) return;
    lastUserScroll = 0;
    seek(s.start);
    segmentList.element(k)?.focus({ preventScroll: true });
  }

  function computeHits(): void {
    const q = query.toLowerCase();
    hits = q ? segs.flatMap((s, k) => (s.text.toLowerCase().includes(q) || (translationOf(s) ?? '').toLowerCase().includes(q) ? [k] : [])) : [];
    hitCursor = -1;
    hitCount.textContent = q ? `${hits.length} ${hits.length === 1 ? 'hit' : 'hits'}` : '';
    drawTimeline();
    segmentList.refresh();
  }

  function drawTimeline(): void {
    const d = Math.max(t.durationSeconds, segs.at(-1)?.end ?? 0, 1);
    const marks = [
      ...segs.flatMap((s) => (s.suspect ? [h('span', { class: 'mark suspect-mark', style: `left:${(s.start / d) * 100}%`, title: `Suspect at ${clock(s.start)}` })] : [])),
      ...hits.map((k) => h('span', { class: 'mark hit-mark', style: `left:${((segs[k] as Segment).start / d) * 100}%`, title: `Hit at ${clock((segs[k] as Segment).start)}` })),
    ];
    timeline.replaceChildren(...marks, playhead);
  }

  function drawPlayhead(): void {
    const d = Math.max(t.durationSeconds, 1);
    playhead.style.left = `${Math.min(100, (player.currentTime / d) * 100)}%`;
    timeline.setAttribute('aria-valuenow', String(Math.round(player.currentTime)));
    timeline.setAttribute('aria-valuetext', clock(player.currentTime));
  }

  function gotoHit(delta: number): void {
    if (hits.length === 0) return;
    hitCursor = (hitCursor + delta + hits.length) % hits.length;
    lastUserScroll = 0;
    seek((segs[hits[hitCursor] as number] as Segment).start);
  }

  function drawWarnings(): void {
    const suspects = segs.filter((s) => s.suspect).length;
    const items = [...(t.warnings ?? [])];
    warnings.hidden = items.length === 0 && suspects === 0;
    warnings.replaceChildren(
      h('h2', {}, 'Check these'),
      h('ul', {}, ...items.map((w) => h('li', {}, w)), suspects ? h('li', {}, `${suspects} segment${suspects === 1 ? '' : 's'} flagged as suspect (marked in the transcript and on the timeline).`) : null),
    );
  }

  function drawSide(): void {
    const panels: HTMLElement[] = [];
    const speakerItems = speakers.map((sp) => {
      const name = h('span', { class: 'speaker-name', style: `color:${speakerColour(speakers, sp)}` }, sp);
      const rename = h('button', { type: 'button', class: 'plain small', 'aria-label': `Rename ${sp}` }, 'Rename');
      const li = h('li', { 'data-speaker': sp }, h('span', { class: 'swatch', style: `background:${speakerColour(speakers, sp)}` }), name, rename);
      rename.addEventListener('click', () => {
        const input = h('input', { type: 'text', value: sp, 'aria-label': `New name for ${sp}`, class: 'rename-input' });
        const form = h('form', { class: 'rename' }, input, h('button', { type: 'submit' }, 'Save'));
        form.addEventListener('submit', (e) => {
          e.preventDefault();
          const to = input.value.trim();
          if (to && to !== sp) void commit({ baseRevision: t.revision?.number ?? 0, speakers: { [sp]: to } });
          else drawSide();
        });
        li.replaceChildren(form);
        input.focus();
        input.select();
      });
      return li;
    });
    if (speakers.length) panels.push(h('section', { class: 'panel', id: 'speakers' }, h('h2', {}, 'Speakers'), h('ul', { class: 'speakers' }, ...speakerItems)));
    const enrichment = (id: string, label: string, r: Transcript['summary'] | Transcript['answer'], body: () => Node) => {
      if (!r) return;
      panels.push(h('section', { class: 'panel', id }, h('h2', {}, label), r.status === 'ok' ? body() : h('p', { class: 'error' }, `Failed: ${r.reason}`)));
    };
    enrichment('summary', 'Summary', t.summary, () => h('p', { class: 'prose' }, t.summary?.status === 'ok' ? t.summary.text : ''));
    if (t.extraction) {
      const x = t.extraction;
      panels.push(h('section', { class: 'panel', id: 'extraction' }, h('h2', {}, 'Extraction'), x.status === 'ok' ? h('pre', {}, JSON.stringify(x.data, null, 2)) : h('p', { class: 'error' }, `Failed: ${x.reason}`)));
    }
    enrichment('answer', 'Answer', t.answer, () => h('p', { class: 'prose' }, t.answer?.status === 'ok' ? t.answer.text : ''));
    side.replaceChildren(...panels);
    side.hidden = panels.length === 0;
  }

  // Events.
  list.addEventListener('click', (e) => {
    const target = e.target as HTMLElement;
    const seg = target.closest<HTMLElement>('.seg');
    if (!seg || target.closest('form')) return;
    const k = Number(seg.dataset.index);
    if (target.closest('.edit')) return startEditing(k);
    const word = target.closest('.text') ? wordAt(k, target.closest('.text') as HTMLElement, e.clientX, e.clientY) : undefined;
    lastUserScroll = 0;
    seek(word ?? Number(seg.dataset.start));
    seg.focus({ preventScroll: true });
  });
  list.addEventListener('dblclick', (e) => {
    const seg = (e.target as HTMLElement).closest<HTMLElement>('.seg');
    if (seg && !(e.target as HTMLElement).closest('form')) startEditing(Number(seg.dataset.index));
  });
  list.addEventListener('wheel', () => (lastUserScroll = Date.now()), { passive: true });
  list.addEventListener('touchmove', () => (lastUserScroll = Date.now()), { passive: true });
  timeline.addEventListener('click', (e) => {
    const r = timeline.getBoundingClientRect();
    lastUserScroll = 0;
    seek(((e.clientX - r.left) / r.width) * Math.max(t.durationSeconds, 1));
  });
  search.addEventListener('input', () => {
    query = search.value.trim();
    computeHits();
  });
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') gotoHit(e.shiftKey ? -1 : 1);
  });
  prevHit.addEventListener('click', () => gotoHit(-1));
  nextHit.addEventListener('click', () => gotoHit(1));
  trSelect.addEventListener('change', () => {
    translation = trSelect.value;
    list.classList.toggle('side-by-side', !!translation);
    segmentList.refresh();
  });
  let frame = 0;
  const tick = () => {
    setCurrent(at(player.currentTime), true);
    drawPlayhead();
    frame = player.paused ? 0 : requestAnimationFrame(tick);
  };
  player.addEventListener('play', () => (frame ||= requestAnimationFrame(tick)));
  player.addEventListener('timeupdate', () => {
    setCurrent(at(player.currentTime), true);
    drawPlayhead();
  });
  const onKey = (e: KeyboardEvent) => {
    if (typing(e) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === ' ' || e.key === 'Spacebar') {
      e.preventDefault();
      void (player.paused ? player.play().catch(() => undefined) : player.pause());
    } else if (e.key === 'j' || e.key === 'ArrowDown') {
      e.preventDefault();
      step(1);
    } else if (e.key === 'k' || e.key === 'ArrowUp') {
      e.preventDefault();
      step(-1);
    } else if (e.key === 'e' || e.key === 'Enter') {
      if (current >= 0) {
        e.preventDefault();
        startEditing(current);
      }
    } else if (e.key === '/') {
      e.preventDefault();
      search.focus();
    }
  };
  document.addEventListener('keydown', onKey);

  index();
  document.title = `${title.textContent} · voxpipe`;
  performance.mark('voxpipe:transcript-rendered');
  requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('voxpipe:transcript-painted')));
  document.body.dataset.viewerReady = 'true';
  return () => {
    document.removeEventListener('keydown', onKey);
    cancelAnimationFrame(frame);
    player.pause();
    player.removeAttribute('src');
    player.load();
    segmentList.destroy();
    delete document.body.dataset.viewerReady;
  };
}
