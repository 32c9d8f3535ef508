// A loaded list's two states: its empty note, or its items as the page shows them (nothing before it has loaded).
import type { ReactNode } from 'react';

export function Listing<T>({ items, empty, children }: { items: readonly T[] | undefined; empty: string; children(items: readonly T[]): ReactNode }) {
  if (!items) return null;
  if (items.length === 0) return <p className="empty">{empty}</p>;
  return <>{children(items)}</>;
}
