# Writes the bytes of IN as a NUL-terminated C array named SYMBOL into OUT.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE ${OUT} "/* Generated from ${IN}; do not edit. */\nextern const char ${SYMBOL}[];\nconst char ${SYMBOL}[] = {${body}0x00};\n")
