// A destructive action behind an inline confirmation (no modal: nothing to trap focus in).
import { useEffect, useRef, useState, type ReactNode } from 'react';

interface Props {
  /** The trigger's visible text, e.g. "Delete". */
  children: ReactNode;
  /** Accessible name of the trigger, e.g. "Delete vault production". */
  label: string;
  /** What will happen, e.g. "Delete vault production and its 3 secrets? This cannot be undone." */
  question: string;
  confirmText: string;
  onConfirm(): Promise<boolean> | void;
  pending?: boolean;
  className?: string;
}

export function ConfirmButton({ children, label, question, confirmText, onConfirm, pending, className }: Props) {
  const [open, setOpen] = useState(false);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);

  // Focus goes to the safe choice when the question appears, and back to the trigger after.
  useEffect(() => {
    if (open) cancelRef.current?.focus();
    else if (wasOpen.current) triggerRef.current?.focus();
    wasOpen.current = open;
  }, [open]);

  if (!open) {
    return (
      <button ref={triggerRef} type="button" className={className ?? 'button danger-outline small'} aria-label={label} onClick={() => setOpen(true)}>
        {children}
      </button>
    );
  }
  return (
    <span className="confirm" role="group" aria-label={label}>
      <span className="confirm-question">{question}</span>
      <button
        type="button"
        className="button danger small"
        disabled={pending}
        onClick={async () => {
          const done = await onConfirm();
          if (done !== false) setOpen(false);
        }}
      >
        {confirmText}
      </button>
      <button ref={cancelRef} type="button" className="button secondary small" onClick={() => setOpen(false)}>
        Cancel
      </button>
    </span>
  );
}
