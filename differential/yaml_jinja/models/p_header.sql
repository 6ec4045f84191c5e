select getvariable('hdr') as h
