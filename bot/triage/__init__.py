"""TA staff's side: escalations, the staff workflow, the outbox that carries answers back."""
