/** A few DOM helpers: elements from tag + attributes + children, text formatting, speaker colours. */

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    // Through the CSSOM: the page's CSP (style-src 'self') refuses style attributes, not CSSOM writes.
    else if (k === 'style') el.style.cssText = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** `h:mm:ss` or `m:ss`. */
export function clock(seconds: number): string {
  const t = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = String(t % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** `12.34` → `12.34` with at most two decimals, for time inputs. */
export const secondsText = (s: number) => String(Math.round(s * 100) / 100);

export function money(usd: number | undefined): string {
  if (usd === undefined) return '—';
  return usd < 0.01 && usd > 0 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/**
 * Speaker colours: each has at least 4.5:1 contrast on white (WCAG AA for text) and they stay apart for the
 * common colour-vision deficiencies as far as eight colours can.
 */
export const SPEAKER_COLOURS = ['#1f5fa8', '#a3342b', '#2e6b30', '#7b3fa0', '#8a5200', '#00695c', '#ad1457', '#4e5d6c'];

export function speakerColour(speakers: readonly string[], speaker: string | undefined): string {
  if (speaker === undefined) return '#4e5d6c';
  const k = speakers.indexOf(speaker);
  return SPEAKER_COLOURS[Math.max(k, 0) % SPEAKER_COLOURS.length] as string;
}

/** True when the key event happens while typing (inputs, textareas, editable content). */
export function typing(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  return !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
}
