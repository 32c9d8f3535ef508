// A form's primary button: disabled while its action runs.
import type { ReactNode } from 'react';

export function SubmitButton({ pending, small = false, children }: { pending: boolean; small?: boolean; children: ReactNode }) {
  return (
    <button type="submit" className={small ? 'button primary small' : 'button primary'} disabled={pending}>
      {children}
    </button>
  );
}
