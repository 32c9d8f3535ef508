// A data table with its column heads; the page gives the rows.
import type { ReactNode } from 'react';

/** A column head: right-aligned (`num`) for figures, or read only by screen readers (`hidden`). */
export interface Column {
  label: string;
  num?: boolean;
  hidden?: boolean;
}

export function Table({ columns, className = 'table', testId, children }: { columns: (string | Column)[]; className?: string; testId?: string; children: ReactNode }) {
  return (
    <table className={className} data-testid={testId}>
      <thead>
        <tr>
          {columns.map((c) => {
            const column: Column = typeof c === 'string' ? { label: c } : c;
            return (
              <th key={column.label} scope="col" className={column.num ? 'num' : undefined}>
                {column.hidden ? <span className="visually-hidden">{column.label}</span> : column.label}
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
