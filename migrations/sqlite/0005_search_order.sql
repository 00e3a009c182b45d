-- Sorting the directory by name reads this index instead of sorting every action.
CREATE INDEX actions_name ON actions (name, id);
