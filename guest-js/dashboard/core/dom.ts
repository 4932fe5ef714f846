/**
 * A small helper to build DOM trees without a framework.
 * @module
 */

/** An attribute value; `false`, `null` and `undefined` leave the attribute out. */
export type AttrValue = string | number | boolean | null | undefined

/** Attributes, and `on<event>` listeners (`onclick`, `onchange`, …). */
export type Attrs = Record<string, AttrValue | ((event: Event) => void)>

/** A child: nodes and text; `null`, `undefined` and `false` are skipped. */
export type Child = Node | string | null | undefined | false

/**
 * Creates an element with attributes, listeners and children.
 *
 * @example
 * ```ts
 * h('button', { class: 'primary', 'data-testid': 'go', onclick: () => go() }, 'Go')
 * ```
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2), value)
    } else if (value === true) {
      element.setAttribute(name, '')
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value))
    }
  }
  element.append(
    ...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false)
  )
  return element
}

/** Replaces the children of `element`. */
export function fill(element: Element, ...children: Child[]): void {
  element.replaceChildren(
    ...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false)
  )
}
