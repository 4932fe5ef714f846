/**
 * Redraws coalesced into animation frames.
 * @module
 */

/**
 * Things to draw at the next animation frame. {@link FrameQueue.mark} only notes that
 * something changed and asks for a frame if none is pending; the frame draws each marked
 * thing once, however many times it was marked. A page the user cannot see runs no
 * frames, so marks wait there (at most one per thing) until it shows again.
 *
 * @example
 * ```ts
 * const queue = new FrameQueue<Chart>((charts) => charts.forEach((c) => c.draw()))
 * queue.mark(chart)
 * queue.mark(chart) // still one draw, at the next frame
 * scope.add(() => queue.cancel())
 * ```
 */
export class FrameQueue<T> {
  private readonly marked = new Set<T>()
  private frame: number | undefined

  /** `draw` gets the things marked since the last frame, in the order first marked. */
  constructor(private readonly draw: (items: readonly T[]) => void) {}

  /** Draws `item` at the next frame. */
  mark(item: T): void {
    this.marked.add(item)
    this.frame ??= requestAnimationFrame(() => this.flush())
  }

  /** Forgets what was marked and the pending frame. */
  cancel(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame)
    this.frame = undefined
    this.marked.clear()
  }

  private flush(): void {
    this.frame = undefined
    const items = [...this.marked]
    this.marked.clear()
    if (items.length > 0) this.draw(items)
  }
}
