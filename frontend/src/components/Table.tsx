import type { ReactNode } from 'react';

/** A table of /manage: its column headings, then a last column of actions. */
export function Table({ columns, children }: { columns: string[]; children: ReactNode }) {
  return (
    <table className="table">
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  );
}
