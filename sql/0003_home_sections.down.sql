DROP TABLE home_section_items;
DROP TABLE home_sections;
